/**
 * Parley's Prometheus metrics (GET /metrics, ./routes.ts). Names follow the OpenTelemetry GenAI
 * semantic conventions where they exist (gen_ai_client_token_usage, gen_ai_server_request_duration_seconds,
 * gen_ai_server_time_to_first_token_seconds), with their attribute names as labels; Parley's own
 * are parley_*.
 *
 * Cheap on the hot path: one `observe` per request end (ChatRecorder.finish) and a counter per
 * upstream attempt; what Parley already counts elsewhere (requests in flight, usage records
 * buffered, written, dropped) is read only when Prometheus scrapes (`collect`).
 *
 * Label values are bounded: the model label is a configured alias or a target's upstream model,
 * else `other` (a client may send any string as `model`); providers are configured names; failure
 * causes are Parley's own catalogue codes or an HTTP status. No key, secret or message text.
 *
 * One registry per Parley (not prom-client's global one), so tests can run several in one process.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ApiError } from '../protocol/errors.js';
import type { RequestRecord } from '../usage/record.js';

/** The label a model name gets when it is no configured alias or target model. */
export const OTHER_MODEL = 'other';

/** Parley's own upstream failure codes (providers/errors.ts); any other failure is labelled by its HTTP status. */
const KNOWN_CAUSES = new Set([
  'upstream_timeout',
  'upstream_idle_timeout',
  'upstream_unreachable',
  'upstream_auth_failed',
  'bad_upstream_response',
  'upstream_response_too_large',
  'upstream_stream_incomplete',
]);

/** OpenTelemetry's advised buckets for gen_ai.client.token.usage (powers of 4 up to 2^26). */
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
/** OpenTelemetry's advised buckets for gen_ai.server.request.duration (seconds). */
const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
/** OpenTelemetry's advised buckets for gen_ai.server.time_to_first_token (seconds). */
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

const REQUEST_LABELS = ['gen_ai_request_model', 'gen_ai_provider_name', 'route', 'status'] as const;
const MODEL_LABELS = ['gen_ai_request_model', 'gen_ai_provider_name', 'route'] as const;

/** What the usage writer counts (store/usage-sink.ts), read at scrape time. */
export interface UsageCounts {
  readonly pending: number;
  readonly written: number;
  readonly dropped: number;
}

/** The record fields cost tracking adds (the limits & cost work); absent until it lands. */
type WithCost = RequestRecord & { costUsd?: number | null };

export class Metrics {
  readonly registry = new Registry();
  private readonly known: ReadonlySet<string>;
  private readonly duration: Histogram<(typeof REQUEST_LABELS)[number]>;
  private readonly ttft: Histogram<(typeof MODEL_LABELS)[number]>;
  private readonly tokens: Histogram<(typeof MODEL_LABELS)[number] | 'gen_ai_token_type'>;
  private readonly attempts: Counter<'gen_ai_provider_name'>;
  private readonly failures: Counter<'gen_ai_provider_name' | 'cause'>;
  private readonly fallbacks: Counter<'gen_ai_request_model' | 'kind'>;
  private readonly aborts: Counter<'route'>;
  private readonly refusals: Counter<'limit_type'>;
  private readonly cost: Counter<'gen_ai_request_model' | 'gen_ai_provider_name'>;
  private inflight: () => number = () => 0;
  private usage: UsageCounts | null = null;

  /** `knownModels`: the configured aliases and target models, the only model names used as labels. */
  constructor(knownModels: Iterable<string>) {
    this.known = new Set(knownModels);
    const registers = [this.registry];
    this.duration = new Histogram({
      name: 'gen_ai_server_request_duration_seconds',
      help: 'Time from a request arriving to its last byte (or its error), by requested model, provider, route and HTTP status.',
      labelNames: REQUEST_LABELS,
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.ttft = new Histogram({
      name: 'gen_ai_server_time_to_first_token_seconds',
      help: "Time from a streamed request arriving to its first chunk's leaving Parley.",
      labelNames: MODEL_LABELS,
      buckets: TTFT_BUCKETS,
      registers,
    });
    this.tokens = new Histogram({
      name: 'gen_ai_client_token_usage',
      help: 'Tokens per request as the upstream reported them; gen_ai_token_type is input (prompt) or output (completion).',
      labelNames: [...MODEL_LABELS, 'gen_ai_token_type'],
      buckets: TOKEN_BUCKETS,
      registers,
    });
    this.attempts = new Counter({
      name: 'parley_upstream_attempts_total',
      help: 'Upstream calls started, by provider (a failover makes several per request).',
      labelNames: ['gen_ai_provider_name'],
      registers,
    });
    this.failures = new Counter({
      name: 'parley_upstream_failures_total',
      help: "Upstream calls that failed before their answer began, by provider and cause (Parley's error code, or http_<status>).",
      labelNames: ['gen_ai_provider_name', 'cause'],
      registers,
    });
    this.fallbacks = new Counter({
      name: 'parley_fallbacks_total',
      help: "Failovers: kind=next_target when a failed target's request moved on to the next, kind=fallback_reply when the model's fallback sentence was served.",
      labelNames: ['gen_ai_request_model', 'kind'],
      registers,
    });
    this.aborts = new Counter({
      name: 'parley_client_aborts_total',
      help: 'Requests whose client left before the answer was complete.',
      labelNames: ['route'],
      registers,
    });
    this.refusals = new Counter({
      name: 'parley_rate_limit_refusals_total',
      help: 'Requests refused by a rate limit or budget, by limit type.',
      labelNames: ['limit_type'],
      registers,
    });
    this.cost = new Counter({
      name: 'parley_cost_usd_total',
      help: 'Estimated upstream cost in US dollars, for requests whose model has a known price.',
      labelNames: ['gen_ai_request_model', 'gen_ai_provider_name'],
      registers,
    });
    const self = this;
    new Gauge({
      name: 'parley_requests_in_flight',
      help: 'Chat requests being answered now.',
      registers,
      collect() {
        this.set(self.inflight());
      },
    });
    new Gauge({
      name: 'parley_usage_records_buffered',
      help: 'Usage records waiting in memory to be written to the database.',
      registers,
      collect() {
        this.set(self.usage?.pending ?? 0);
      },
    });
    // Counters the usage writer keeps itself: copied at scrape time.
    for (const [name, help, read] of [
      ['parley_usage_records_written_total', 'Usage records written to the database.', (u: UsageCounts) => u.written],
      [
        'parley_usage_records_dropped_total',
        'Usage records dropped because the buffer was full (the database unreachable for long).',
        (u: UsageCounts) => u.dropped,
      ],
    ] as const) {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          if (self.usage) this.inc(read(self.usage));
        },
      });
    }
  }

  /** The model label: a configured name, or `other`. */
  model(name: string | null): string {
    return name !== null && this.known.has(name) ? name : OTHER_MODEL;
  }

  /** Where the in-flight gauge reads from (the HTTP app's set of requests). */
  watchInflight(size: () => number): void {
    this.inflight = size;
  }

  /** Where the usage record gauges read from (the store's usage writer). */
  watchUsage(counts: UsageCounts): void {
    this.usage = counts;
  }

  /** One request ended (its usage record): duration, time to first token, tokens, cost, abort. */
  requestFinished(r: RequestRecord): void {
    const model = this.model(r.requestedModel);
    const provider = r.provider ?? 'none';
    this.duration.observe(
      { gen_ai_request_model: model, gen_ai_provider_name: provider, route: r.route, status: String(r.status) },
      r.durationMs / 1000,
    );
    const labels = { gen_ai_request_model: model, gen_ai_provider_name: provider, route: r.route };
    if (r.ttftMs !== null) this.ttft.observe(labels, r.ttftMs / 1000);
    if (r.promptTokens !== null) this.tokens.observe({ ...labels, gen_ai_token_type: 'input' }, r.promptTokens);
    if (r.completionTokens !== null)
      this.tokens.observe({ ...labels, gen_ai_token_type: 'output' }, r.completionTokens);
    if (r.clientAborted) this.aborts.inc({ route: r.route });
    if (r.fallback) this.fallbacks.inc({ gen_ai_request_model: model, kind: 'fallback_reply' });
    const cost = (r as WithCost).costUsd;
    if (typeof cost === 'number' && cost > 0)
      this.cost.inc({ gen_ai_request_model: model, gen_ai_provider_name: provider }, cost);
  }

  /** An upstream call is starting. */
  upstreamAttempt(provider: string): void {
    this.attempts.inc({ gen_ai_provider_name: provider });
  }

  /** An upstream call failed before its answer began; `movedOn`: the next target is tried. */
  upstreamFailure(provider: string, err: unknown, requestedModel: string | null, movedOn: boolean): void {
    this.failures.inc({ gen_ai_provider_name: provider, cause: causeOf(err) });
    if (movedOn) this.fallbacks.inc({ gen_ai_request_model: this.model(requestedModel), kind: 'next_target' });
  }

  /**
   * A request refused by a rate limit or budget. For the limits work: call it where a limit
   * refuses (`limitType`: requests, tokens, budget, concurrency — a fixed word, never a key).
   */
  rateLimitRefused(limitType: string): void {
    this.refusals.inc({ limit_type: limitType });
  }

  /** The text exposition Prometheus scrapes. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** A bounded label for why an upstream call failed. */
export function causeOf(err: unknown): string {
  if (!(err instanceof ApiError)) return 'other';
  if (err.code !== null && KNOWN_CAUSES.has(err.code)) return err.code;
  return err.status >= 400 && err.status <= 599 ? `http_${err.status}` : 'other';
}
