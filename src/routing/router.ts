/**
 * The model table: which provider and upstream model answer each model name.
 *
 * - `default` → OpenAI's DEFAULT_MODEL when OPENAI_API_KEY is set, else the built-in model.
 * - Aliases from PARLEY_CONFIG, each with one or more targets (tried in order) and an
 *   optional fallback reply.
 * - Any other name goes to the default upstream unchanged when there is one (so
 *   `gpt-3.5-turbo` passes through to OpenAI), else 404 model_not_found.
 */
import type { Settings } from '../config/env.js';
import type { FileConfig } from '../config/file.js';
import { ApiError, echoed } from '../protocol/errors.js';
import { BUILTIN_MODEL, BuiltinProvider } from '../providers/builtin/index.js';
import { OpenAICompatibleProvider } from '../providers/openai-compatible.js';
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

export function buildRouter(settings: Settings, file: FileConfig = {}): Router {
  const providers = new Map<string, Provider>();
  providers.set('builtin', new BuiltinProvider(settings.builtinTokenDelayMs));
  if (settings.openaiApiKey) {
    providers.set(
      'openai',
      new OpenAICompatibleProvider({
        id: 'openai',
        baseUrl: settings.openaiBaseUrl,
        apiKey: settings.openaiApiKey,
        firstByteTimeoutMs: settings.upstreamFirstByteTimeoutMs,
        idleTimeoutMs: settings.upstreamIdleTimeoutMs,
        maxResponseBytes: settings.upstreamMaxResponseBytes,
      }),
    );
  }
  for (const [id, p] of Object.entries(file.providers ?? {})) {
    if (p.type === 'builtin') {
      providers.set(id, new BuiltinProvider(settings.builtinTokenDelayMs));
      continue;
    }
    providers.set(
      id,
      new OpenAICompatibleProvider({
        id,
        baseUrl: p.baseUrl,
        apiKey: p.apiKey,
        headers: p.headers,
        firstByteTimeoutMs: p.timeouts?.firstByteMs ?? settings.upstreamFirstByteTimeoutMs,
        idleTimeoutMs: p.timeouts?.idleMs ?? settings.upstreamIdleTimeoutMs,
        maxResponseBytes: settings.upstreamMaxResponseBytes,
        extraParams: p.extraParams,
        requestUsage: p.requestUsage,
      }),
    );
  }
  const provider = (name: string): Provider => {
    const p = providers.get(name);
    if (!p) throw new Error(`provider "${name}" is not configured (set OPENAI_API_KEY or define it under providers)`);
    return p;
  };

  const aliases: Route[] = [];
  for (const [model, m] of Object.entries(file.models ?? {})) {
    const targets = ('targets' in m ? m.targets : [m]).map((t) => ({ provider: provider(t.provider), model: t.model }));
    aliases.push({ model, targets, fallbackReply: m.fallbackReply });
  }
  if (!file.models?.default) {
    aliases.push(
      providers.has('openai')
        ? { model: 'default', targets: [{ provider: provider('openai'), model: settings.defaultModel }] }
        : { model: 'default', targets: [{ provider: provider('builtin'), model: BUILTIN_MODEL }] },
    );
  }
  const passthroughName = file.defaultProvider ?? (providers.has('openai') ? 'openai' : undefined);
  return new Router(providers, aliases, passthroughName ? provider(passthroughName) : undefined);
}
