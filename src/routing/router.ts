/**
 * The model table: which provider and upstream model answer each model name.
 *
 * - `default` → OpenAI's DEFAULT_MODEL when OPENAI_API_KEY is set, else the built-in model.
 * - Aliases from PARLEY_CONFIG, each with one or more targets (tried in order) and an
 *   optional fallback reply.
 * - Any other name goes to the default upstream unchanged when there is one (so
 *   `gpt-3.5-turbo` passes through to OpenAI), else 404 model_not_found.
 */
import { SettingsError, type Settings } from '../config/env.js';
import type { FileConfig } from '../config/file.js';
import { ApiError, echoed } from '../protocol/errors.js';
import { BUILTIN_MODEL } from '../providers/builtin/index.js';
import { createProviders } from '../providers/create-providers.js';
import type { Provider } from '../providers/types.js';

export interface Target {
  provider: Provider;
  model: string;
}

export interface Route {
  /** The name the client asked for. */
  model: string;
  targets: Target[];
  fallbackReply?: string;
}

export class Router {
  private readonly routes = new Map<string, Route>();

  constructor(
    readonly providers: ReadonlyMap<string, Provider>,
    aliases: Iterable<Route>,
    /** Where names that are not aliases go; none → 404. */
    private readonly passthrough?: Provider,
  ) {
    for (const r of aliases) this.routes.set(r.model, r);
  }

  resolve(model: string): Route {
    const r = this.routes.get(model);
    if (r) return r;
    if (this.passthrough) {
      const route: Route = { model, targets: [{ provider: this.passthrough, model }] };
      return route;
    }
    throw new ApiError(404, `The model \`${echoed(model)}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found', 'model');
  }

  /** Everything /v1/models lists: the aliases, with the provider that serves each first. */
  list(): { id: string; ownedBy: string }[] {
    return [...this.routes.values()].map((r) => ({ id: r.model, ownedBy: r.targets[0]!.provider.id }));
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.providers.values()].map((p) => p.close?.()));
  }
}

/**
 * The model table over the providers (built from the registry, see providers/create-providers.ts).
 * A name that points at no provider stops Parley here, before it listens.
 */
export function buildRouter(settings: Settings, file: FileConfig = {}, providers: Map<string, Provider> = createProviders(settings, file)): Router {
  const provider = (name: string, where: string): Provider => {
    const p = providers.get(name);
    if (p) return p;
    const fix = name === 'openai' ? 'set OPENAI_API_KEY (provider "openai" exists only then) or define it under providers' : 'define it under providers';
    throw new SettingsError(`PARLEY_CONFIG${settings.configFile ? ` ${settings.configFile}` : ''}: ${where} names provider "${name}", which is not configured (configured: ${[...providers.keys()].join(', ')}): ${fix}`);
  };

  const aliases: Route[] = [];
  for (const [model, m] of Object.entries(file.models ?? {})) {
    const targets = 'targets' in m ? m.targets.map((t, i) => ({ t, where: `models.${model}.targets[${i}]` })) : [{ t: m, where: `models.${model}` }];
    aliases.push({ model, targets: targets.map(({ t, where }) => ({ provider: provider(t.provider, where), model: t.model })), fallbackReply: m.fallbackReply });
  }
  if (!file.models?.default) {
    aliases.push(
      providers.has('openai')
        ? { model: 'default', targets: [{ provider: provider('openai', 'default'), model: settings.defaultModel }] }
        : { model: 'default', targets: [{ provider: provider('builtin', 'default'), model: BUILTIN_MODEL }] },
    );
  }
  const passthroughName = file.defaultProvider ?? (providers.has('openai') ? 'openai' : undefined);
  return new Router(providers, aliases, passthroughName ? provider(passthroughName, 'defaultProvider') : undefined);
}
