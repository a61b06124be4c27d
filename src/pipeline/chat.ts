/**
 * The chat request path once the body is authenticated and validated: access → route →
 * targets in order (failover) → fallback reply last. It knows no HTTP: it takes the canonical
 * request, the context and an abort signal, and returns the canonical answer — a JSON
 * completion or a stream of chunk payloads — or throws a catalogue error (protocol/errors.ts)
 * before anything is sent. A client protocol's writer turns the answer into bytes.
 */
import type { Settings } from '../config/env.js';
import type { Limiter } from '../limits/limiter.js';
import type { ChatRequest } from '../protocol/chat.js';
import { errors, toApiError } from '../protocol/errors.js';
import { assertJsonDepth } from '../protocol/json-depth.js';
import { BuiltinProvider } from '../providers/builtin/index.js';
import { UpstreamError } from '../providers/errors.js';
import type { ProviderRequest, ProviderResponse } from '../providers/types.js';
import type { Route, Router, Target } from '../routing/router.js';
import { type AttemptLog, logAttemptFailure } from './attempt-log.js';
import { type ChatContext, noteFallback, noteRequest, noteTarget } from './context.js';

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
    // Limits: one atomic reservation before any upstream is called (settled when the record is made).
    const limiter = this.deps.limiter;
    if (limiter?.applies(ctx, body.model)) await limiter.admit(ctx, body, route);
    const policy = this.deps.settings.upstreamFields;
    const call: Omit<ProviderRequest, 'upstreamModel'> = {
      request: body,
      stream: ctx.stream,
      // Vapi's fields were taken off the body before validation; its requests use the allow-list.
      allowlistOnly: policy === 'allowlist' || (policy === 'auto' && ctx.vapi !== null),
      signal,
      requestId: ctx.requestId,
    };
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
      try {
        const attempt = { ...call, upstreamModel: target.model };
        return await (direct?.(target, attempt) ?? target.provider.chat(attempt));
      } catch (err) {
        if (call.signal.aborted) throw err;
        lastError = err;
        const retryable = err instanceof UpstreamError && err.retryable;
        const next = retryable ? targets[i + 1] : undefined;
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
    if (route.fallbackReply && !call.signal.aborted) {
      // Better a short sentence than dead air on a live call; still recorded as a failure.
      noteFallback(ctx, toApiError(lastError));
      return fallbackSpeaker.answer({ ...call, upstreamModel: route.model }, route.fallbackReply);
    }
    throw lastError;
  }
}
