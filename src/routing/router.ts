/**
 * The model table: which provider and upstream model answer each model name.
 *
 * - `default` → OpenAI's DEFAULT_MODEL when OPENAI_API_KEY is set, else the built-in model.
 * - Aliases from PARLEY_CONFIG, each with one or more targets (tried in order) and an
 *   optional fallback reply.
 * - Any other name goes to the default upstream unchanged when there is one (so
 *   `gpt-3.5-turbo` passes through to OpenAI), else 404 model_not_found naming the models
 *   that exist.
 * GET /v1/models lists the aliases, then the default upstream's own models (./model-list.ts).
 */
import { type Settings, SettingsError } from '../config/env.js';
import type { FileConfig } from '../config/file.js';
import { errors } from '../protocol/errors.js';
import { BUILTIN_MODEL } from '../providers/builtin/index.js';
import { createProviders } from '../providers/create-providers.js';
import type { ProviderEntry } from '../providers/entry.js';
import type { UpstreamModel } from '../providers/openai-compatible/index.js';
import { providerEntries } from '../providers/registry.js';
import type { Provider } from '../providers/types.js';
import { canList, UpstreamModels } from './model-list.js';

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

/** Most model names a 404 lists: enough for any hand-written config, bounded for a generated one. */
const MAX_NAMED = 20;

export class Router {
  private readonly routes = new Map<string, Route>();
  /** The aliases as /v1/models lists them, with Parley's start as their creation time. */
  private readonly aliasModels: UpstreamModel[];
  /** The default upstream's own list, when it can give one. */
  private readonly upstreamModels?: UpstreamModels;
  /** The end of a 404's message when there is no default upstream: which names do exist. */
  private readonly available: string;

  constructor(
    readonly providers: ReadonlyMap<string, Provider>,
    aliases: Iterable<Route>,
    /** Where names that are not aliases go; none → 404. */
    private readonly passthrough?: Provider,
    /** Longest wait for the default upstream's model list (UPSTREAM_MODELS_TIMEOUT_MS). */
    modelListTimeoutMs = 5_000,
    /** Model-name prefixes that go to a provider of their own (`claude-` → anthropic), checked before `passthrough`. */
    private readonly prefixes: readonly { prefix: string; provider: Provider }[] = [],
  ) {
    for (const r of aliases) this.routes.set(r.model, r);
    const created = Math.floor(Date.now() / 1000);
    this.aliasModels = [...this.routes.values()].map((r) => ({
      id: r.model,
      created,
      owned_by: r.targets[0]!.provider.id,
    }));
    if (passthrough && canList(passthrough)) this.upstreamModels = new UpstreamModels(passthrough, modelListTimeoutMs);
    const names = [...this.routes.keys()];
    const listed = names
      .slice(0, MAX_NAMED)
      .map((n) => `\`${n}\``)
      .join(', ');
    this.available =
      names.length > MAX_NAMED ? `${listed} and ${names.length - MAX_NAMED} more (GET /v1/models)` : listed;
  }

  resolve(model: string): Route {
    const r = this.routes.get(model);
    if (r) return r;
    for (const p of this.prefixes) {
      if (model.startsWith(p.prefix)) return { model, targets: [{ provider: p.provider, model }] };
    }
    if (this.passthrough) {
      const route: Route = { model, targets: [{ provider: this.passthrough, model }] };
      return route;
    }
    throw errors.modelNotFound(model, this.available);
  }

  /**
   * Everything GET /v1/models lists: the aliases, then the default upstream's own models
   * (an alias of the same name is listed once). The upstream's part is cached and time-bounded
   * (./model-list.ts): on failure the aliases are listed alone and `onError` hears why.
   */
  async listModels(onError?: (err: unknown) => void): Promise<UpstreamModel[]> {
    const upstream = (await this.upstreamModels?.get(onError)) ?? [];
    if (upstream.length === 0) return this.aliasModels;
    return [...this.aliasModels, ...upstream.filter((m) => !this.routes.has(m.id))];
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.providers.values()].map((p) => p.close?.()));
  }
}

/**
 * The model table over the providers (built from the registry, see providers/create-providers.ts).
 * A name that points at no provider stops Parley here, before it listens.
 */
/**
 * The registry's model-name prefixes (`claude-`, `gemini-`) whose provider exists and is of the
 * entry's type (a config file may have replaced an implicit provider with one of another type).
 */
function prefixRoutes(
  providers: ReadonlyMap<string, Provider>,
  entries: readonly ProviderEntry[],
): { prefix: string; provider: Provider }[] {
  const out: { prefix: string; provider: Provider }[] = [];
  for (const entry of entries) {
    for (const [id, prefixes] of Object.entries(entry.implicitPrefixes ?? {})) {
      const p = providers.get(id);
      if (p?.type !== entry.type) continue;
      for (const prefix of prefixes) out.push({ prefix, provider: p });
    }
  }
  return out;
}

export function buildRouter(
  settings: Settings,
  file: FileConfig = {},
  providers: Map<string, Provider> = createProviders(settings, file),
  entries: readonly ProviderEntry[] = providerEntries,
): Router {
  const provider = (name: string, where: string): Provider => {
    const p = providers.get(name);
    if (p) return p;
    const fix =
      name === 'openai'
        ? 'set OPENAI_API_KEY (provider "openai" exists only then) or define it under providers'
        : name === 'anthropic'
          ? 'set ANTHROPIC_API_KEY (provider "anthropic" exists only then) or define it under providers'
          : 'define it under providers';
    throw new SettingsError(
      `PARLEY_CONFIG${settings.configFile ? ` ${settings.configFile}` : ''}: ${where} names provider "${name}", which is not configured (configured: ${[...providers.keys()].join(', ')}): ${fix}`,
    );
  };

  const aliases: Route[] = [];
  for (const [model, m] of Object.entries(file.models ?? {})) {
    const targets =
      'targets' in m
        ? m.targets.map((t, i) => ({ t, where: `models.${model}.targets[${i}]` }))
        : [{ t: m, where: `models.${model}` }];
    aliases.push({
      model,
      targets: targets.map(({ t, where }) => ({ provider: provider(t.provider, where), model: t.model })),
      fallbackReply: m.fallbackReply,
    });
  }
  if (!file.models?.default) {
    aliases.push(
      providers.has('openai')
        ? { model: 'default', targets: [{ provider: provider('openai', 'default'), model: settings.defaultModel }] }
        : { model: 'default', targets: [{ provider: provider('builtin', 'default'), model: BUILTIN_MODEL }] },
    );
  }
  const passthroughName = file.defaultProvider ?? (providers.has('openai') ? 'openai' : undefined);
  return new Router(
    providers,
    aliases,
    passthroughName ? provider(passthroughName, 'defaultProvider') : undefined,
    settings.upstreamModelsTimeoutMs,
    prefixRoutes(providers, entries),
  );
}
