/**
 * The upstream half of GET /v1/models: the models of the provider that receives every name
 * that is not an alias (the default upstream), as it reports them on its own GET /models, so
 * model pickers (Open WebUI) offer what can really be asked for.
 *
 * A model picker asks on every page load: the list is fetched at most once per LIST_TTL_MS,
 * and requests arriving meanwhile share one fetch. The fetch is bounded by
 * UPSTREAM_MODELS_TIMEOUT_MS; an upstream that fails, is slow or answers something else
 * contributes nothing (the aliases are listed alone) and is asked again after RETRY_MS.
 */
import type { UpstreamModel } from '../providers/openai-compatible/index.js';

/** How long a fetched list is served before the upstream is asked again. */
export const LIST_TTL_MS = 60_000;
/** How long a failed fetch is remembered: a dead upstream costs one timeout per this, not one per request. */
export const RETRY_MS = 10_000;

/** A provider that can list its models (OpenAI-compatible upstreams). */
export interface ModelLister {
  readonly id: string;
  listModels(signal: AbortSignal): Promise<UpstreamModel[]>;
}

export function canList(p: object): p is ModelLister {
  return typeof (p as Partial<ModelLister>).listModels === 'function';
}

export class UpstreamModels {
  private cached: UpstreamModel[] = [];
  private until = 0;
  private pending: Promise<UpstreamModel[]> | undefined;

  constructor(
    private readonly upstream: ModelLister,
    private readonly timeoutMs: number,
  ) {}

  /**
   * The upstream's models, or none when it could not say; never throws, never waits longer
   * than the timeout. `onError` hears why a fetch this call started failed.
   */
  get(onError: (err: unknown) => void = () => {}): Promise<UpstreamModel[]> {
    if (Date.now() < this.until) return Promise.resolve(this.cached);
    this.pending ??= this.fetch(onError).finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async fetch(onError: (err: unknown) => void): Promise<UpstreamModel[]> {
    try {
      this.cached = await this.upstream.listModels(AbortSignal.timeout(this.timeoutMs));
      this.until = Date.now() + LIST_TTL_MS;
    } catch (err) {
      onError(err);
      this.cached = [];
      this.until = Date.now() + RETRY_MS;
    }
    return this.cached;
  }
}
