/**
 * The chat request path once the body is authenticated and validated: access → route →
 * targets in order (failover), or raced under a first-token deadline with hedging for
 * aliases that ask for it (./attempts.ts) → fallback reply last; voice-aware output for
 * aliases that ask for it (./voice-output.ts). It knows no HTTP: it takes the canonical
 * request, the context and an abort signal, and returns the canonical answer — a JSON
 * completion or a stream of chunk payloads — or throws a catalogue error (protocol/errors.ts)
 * before anything is sent. A client protocol's writer turns the answer into bytes.
 */
import type { Settings } from '../config/env.js';
import type { Limiter } from '../limits/limiter.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ChatRequest } from '../protocol/chat.js';
import { errors, toApiError } from '../protocol/errors.js';
import { assertJsonDepth } from '../protocol/json-depth.js';
import { BuiltinProvider } from '../providers/builtin/index.js';
import { UpstreamError } from '../providers/errors.js';
import type { ProviderRequest, ProviderResponse } from '../providers/types.js';
import type { Route, Router, Target } from '../routing/router.js';
import { type AttemptLog, logAttemptFailure } from './attempt-log.js';
import { raceTargets } from './attempts.js';
import { type ChatContext, noteAttempt, noteFallback, notePlatform, noteRequest, noteTarget } from './context.js';
import { shapeAnswer } from './voice-output.js';

/**
 * The canonical answer: `body` is a completion's JSON text (relayed byte for byte), `events`
 * the stream's `data` payloads as received, including the final "[DONE]".
 */
export type Answer = ProviderResponse;

/**
 * A protocol edge's own way to call a target, tried before the provider's chat: the Messages
 * API sends the client's Messages body straight to an Anthropic upstream. It returns the
 * answer (its payloads in the edge's own format; the edge knows it answered), or undefined for
 * a target it does not handle. Failover, fallbacks and everything else in `run` stay the same.
 */
export type DirectCall = (target: Target, call: ProviderRequest) => Promise<Answer> | undefined;

export interface ChatDeps {
  router: Router;
  settings: Pick<Settings, 'upstreamFields'>;
  /** Upstream attempts, failures and failovers are counted here (GET /metrics). */
  metrics?: Metrics;
  /** Per-key and per-model limits (limits/limiter.ts); null when none can apply. */
  limiter?: Limiter | null;
}

const fallbackSpeaker = new BuiltinProvider(0);

export class ChatPipeline {
  constructor(private readonly deps: ChatDeps) {}

  /**
   * Answers one chat request. `signal` aborts the upstream call (the client left, or shutdown
   * ended the request); `log` is the request's logger, for failed upstream attempts.
   */
  async run(
    body: ChatRequest,
    ctx: ChatContext,
    signal: AbortSignal,
    log: AttemptLog,
    direct?: DirectCall,
  ): Promise<Answer> {
    noteRequest(ctx, body);
    const allowed = ctx.principal?.allowedModels;
    if (allowed && !allowed.includes(body.model)) throw errors.modelNotAllowed(body.model);
    // Before any provider recurses over the body (JSON.stringify for the upstream).
    assertJsonDepth(body);
    const route = this.deps.router.resolve(body.model);
    // An alias may name the voice platform that uses it (one its requests do not reveal).
    if (route.platform) notePlatform(ctx, route.platform);
    // Limits: one atomic reservation before any upstream is called (settled when the record is made).
    const limiter = this.deps.limiter;
    if (limiter?.applies(ctx, body.model)) await limiter.admit(ctx, body, route);
    const policy = this.deps.settings.upstreamFields;
    const call: Omit<ProviderRequest, 'upstreamModel'> = {
      // The alias's default reasoning effort, when the client set none.
      request:
        route.reasoningEffort !== undefined && body.reasoning_effort == null
          ? { ...body, reasoning_effort: route.reasoningEffort }
          : body,
      stream: ctx.stream,
      // A voice platform's fields were taken off the body before validation; its requests use the allow-list.
      allowlistOnly: policy === 'allowlist' || (policy === 'auto' && ctx.platform !== null),
      signal,
      requestId: ctx.requestId,
    };
    if (route.firstTokenTimeoutMs !== undefined || route.hedgeAfterMs !== undefined) {
      // Raced attempts read OpenAI chunks to find the first token, so a protocol edge's direct
      // call is not used here: such an alias is answered through the translation instead.
      const output = route.output;
      try {
        return await raceTargets(route, call, ctx, log, output && ((a) => shapeAnswer(a, output)));
      } catch (err) {
        return this.fallback(route, call, ctx, err);
      }
    }
    return this.callTargets(route, call, ctx, log, direct);
  }

  /**
   * The route a model name resolves to, for a protocol edge that must know its upstream before
   * translating (the Messages API: whether `thinking` can become a reasoning effort). Throws
   * model_not_found as `run` would.
   */
  route(model: string): Route {
    return this.deps.router.resolve(model);
  }

  /** Every target failed: the fallback reply when the alias has one (and the client is still there), else the failure. */
  private fallback(route: Route, call: Omit<ProviderRequest, 'upstreamModel'>, ctx: ChatContext, err: unknown): Answer {
    if (!route.fallbackReply || call.signal.aborted) throw err;
    // Better a short sentence than dead air on a live call; still recorded as a failure.
    noteFallback(ctx, toApiError(err));
    return fallbackSpeaker.answer({ ...call, upstreamModel: route.model }, route.fallbackReply);
  }

  /** Tries each target in order; a retryable failure before the first byte moves on to the next. */
  private async callTargets(
    route: Route,
    call: Omit<ProviderRequest, 'upstreamModel'>,
    ctx: ChatContext,
    log: AttemptLog,
    direct?: DirectCall,
  ): Promise<Answer> {
    let lastError: unknown;
    const targets = route.targets;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i]!;
      noteTarget(ctx, target.provider.id, target.model);
      const startedAt = performance.now();
      this.deps.metrics?.upstreamAttempt(target.provider.id);
      const trace = ctx.trace?.attempt(target.provider.id, target.model);
      try {
        const attempt = { ...call, upstreamModel: target.model, traceparent: trace?.traceparent };
        const viaEdge = direct?.(target, attempt);
        const answer = await (viaEdge ?? target.provider.chat(attempt));
        trace?.end();
        noteAttempt(ctx, target.provider.id, target.model, startedAt, 'answered');
        // An edge's direct answer is in its own format: voice-aware output shapes OpenAI chunks only.
        return route.output && !viaEdge ? shapeAnswer(answer, route.output) : answer;
      } catch (err) {
        trace?.fail(err);
        if (call.signal.aborted) {
          noteAttempt(ctx, target.provider.id, target.model, startedAt, 'cancelled');
          throw err;
        }
        noteAttempt(ctx, target.provider.id, target.model, startedAt, 'failed', toApiError(err));
        lastError = err;
        const retryable = err instanceof UpstreamError && err.retryable;
        const next = retryable ? targets[i + 1] : undefined;
        this.deps.metrics?.upstreamFailure(target.provider.id, err, ctx.requestedModel, next !== undefined);
        logAttemptFailure(
          log,
          err,
          target.provider.id,
          target.model,
          next ? `${next.provider.id}/${next.model}` : route.fallbackReply ? 'fallback reply' : undefined,
        );
        if (!retryable) break;
      }
    }
    return this.fallback(route, call, ctx, lastError);
  }
}
