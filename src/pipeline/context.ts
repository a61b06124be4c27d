/**
 * What Parley knows about one chat request as it moves through the pipeline; it becomes
 * the request's log line and its usage record when the request ends.
 *
 * The context is the usage record under construction (usage/record.ts is the one shape):
 * its fields are the record's, less those computed when it ends. It changes only through the
 * named updates below, so what each step contributes to the record is written once.
 */
import type { Principal } from '../auth/keys.js';
import type { Reservation } from '../limits/limiter.js';
import type { Usage } from '../protocol/chat.js';
import type { ApiError } from '../protocol/errors.js';
import type { RequestTrace } from '../tracing/tracer.js';
import type { AttemptRecord, RequestRecord } from '../usage/record.js';
import type { CallFacts } from '../voice/platforms/index.js';

/** Fields of the record that are computed when the request ends, not gathered along the way. */
type Computed =
  | 'keyId'
  | 'promptTokens'
  | 'completionTokens'
  | 'totalTokens'
  | 'durationMs'
  | 'costMicros'
  | 'createdAt';

export interface ChatContext extends Omit<RequestRecord, Computed> {
  /** performance.now() when the request arrived. */
  readonly start: number;
  principal: Principal | null;
  /** The upstream's usage object, unchecked (tokenCount checks it when the record is made). */
  usage: Usage | null;
  /** Set once the record has been written, so every request yields exactly one. */
  recorded: boolean;
  /** The request's trace span, when tracing is on (OTEL_EXPORTER_OTLP_ENDPOINT). */
  trace?: RequestTrace;
  /** What the limiter reserved for this request (limits/limiter.ts), settled when its record is made. */
  limits: Reservation | null;
  /** x-ratelimit-* headers the answer carries (a protocol's route sets them before its first byte). */
  limitHeaders: Record<string, string> | null;
}

export function newContext(
  requestId: string,
  route: RequestRecord['route'],
  start: number,
  principal: Principal | null = null,
): ChatContext {
  return {
    requestId,
    start,
    route,
    principal,
    requestedModel: null,
    provider: null,
    upstreamModel: null,
    stream: false,
    status: 0,
    errorType: null,
    usage: null,
    ttftMs: null,
    clientAborted: false,
    fallback: false,
    vapi: null,
    attempts: null,
    usageEstimated: false,
    platform: null,
    callId: null,
    replayOf: null,
    recorded: false,
    limits: null,
    limitHeaders: null,
  };
}

// The named updates: each step of a request says what it learned, in one call.

/** What the client asked for. `body` may be unvalidated (an error before validation): only a string model counts. */
export function noteRequest(ctx: ChatContext, body: unknown): void {
  const b = body as { model?: unknown; stream?: unknown } | undefined;
  ctx.requestedModel = typeof b?.model === 'string' ? b.model : null;
  ctx.stream = b?.stream === true;
}

/** A voice platform's request, with what it says about the call; a Vapi body is recorded on the Vapi route. */
export function notePlatform(ctx: ChatContext, platform: string, call: CallFacts = {}): void {
  ctx.platform = platform;
  ctx.callId = call.callId ?? ctx.callId;
  if (call.vapi) {
    ctx.route = 'vapi';
    ctx.vapi = call.vapi;
  }
}

/** Answered from request `originalId`'s result (Idempotency-Key): no upstream was called for this one. */
export function noteReplay(ctx: ChatContext, originalId: string): void {
  ctx.replayOf = originalId;
}

/** The target being tried (each failover attempt overwrites the one before). */
export function noteTarget(ctx: ChatContext, provider: string, upstreamModel: string): void {
  ctx.provider = provider;
  ctx.upstreamModel = upstreamModel;
}

/** An upstream attempt ended (or, for the one that answered, handed over its answer). */
export function noteAttempt(
  ctx: ChatContext,
  provider: string,
  model: string,
  startedAt: number,
  outcome: AttemptRecord['outcome'],
  err?: Pick<ApiError, 'status' | 'code'>,
): void {
  const now = performance.now();
  const a: AttemptRecord = {
    provider,
    model,
    outcome,
    startMs: Math.round((startedAt - ctx.start) * 1000) / 1000,
    ms: Math.round((now - startedAt) * 1000) / 1000,
  };
  if (err) {
    a.status = err.status;
    a.code = err.code;
  }
  // In start order: a hedged attempt can end before an earlier one.
  const list = ctx.attempts ?? [];
  let at = list.length;
  while (at > 0 && list[at - 1]!.startMs > a.startMs) at--;
  list.splice(at, 0, a);
  ctx.attempts = list;
}

/** Token counts Parley computed itself because the upstream's were missing (usage/estimate.ts). */
export function noteEstimatedUsage(ctx: ChatContext, usage: Usage): void {
  ctx.usage = usage;
  ctx.usageEstimated = true;
}

/** A JSON answer was sent. */
export function noteCompleted(ctx: ChatContext, usage: Usage | null | undefined): void {
  ctx.status = 200;
  ctx.usage = usage ?? null;
}

/** A stream's usage chunk (the last one wins). */
export function noteUsage(ctx: ChatContext, usage: Usage): void {
  ctx.usage = usage;
}

/** The first stream byte is about to leave: the status is settled and time-to-first-token measured. */
export function noteFirstByte(ctx: ChatContext): void {
  ctx.status = 200;
  ctx.ttftMs = Math.round((performance.now() - ctx.start) * 1000) / 1000;
}

/** The request failed: before the first byte `status` is the error's; after it, it stays 200. */
export function noteFailure(ctx: ChatContext, e: Pick<ApiError, 'status' | 'type'>, statusToo = true): void {
  if (statusToo) ctx.status = e.status;
  ctx.errorType = e.type;
}

/** Every target failed and the fallback sentence was served instead (still a failure, of `e`'s type). */
export function noteFallback(ctx: ChatContext, e: Pick<ApiError, 'type'>): void {
  ctx.fallback = true;
  ctx.errorType = e.type;
}

/** The client left before the answer was complete (499 if nothing had been sent). */
export function noteClientAbort(ctx: ChatContext): void {
  ctx.clientAborted = true;
  ctx.status ||= 499;
}

/** PostgreSQL's INTEGER: the largest token count a record column holds. */
const MAX_TOKENS = 2 ** 31 - 1;

/**
 * A token count as the upstream reported it, if it is one: a whole number from 0 to
 * 2^31 − 1. The usage object comes from the upstream unchecked; a string, a fraction or a
 * huge number written as is would make the database reject the whole batch of records.
 */
export function tokenCount(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_TOKENS ? v : null;
}

/** A replayed answer cost no upstream tokens, whatever its usage chunk says. */
const NO_TOKENS: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

export function toRecord(ctx: ChatContext, now: number, costMicros: number | null = null): RequestRecord {
  const usage = ctx.replayOf ? NO_TOKENS : ctx.usage;
  return {
    requestId: ctx.requestId,
    keyId: ctx.principal?.keyId ?? null,
    route: ctx.route,
    requestedModel: ctx.requestedModel,
    provider: ctx.provider,
    upstreamModel: ctx.upstreamModel,
    stream: ctx.stream,
    status: ctx.status,
    errorType: ctx.errorType,
    promptTokens: tokenCount(usage?.prompt_tokens),
    completionTokens: tokenCount(usage?.completion_tokens),
    totalTokens: tokenCount(usage?.total_tokens),
    ttftMs: ctx.ttftMs,
    durationMs: Math.round((now - ctx.start) * 1000) / 1000,
    clientAborted: ctx.clientAborted,
    fallback: ctx.fallback,
    vapi: ctx.vapi,
    attempts: ctx.attempts,
    usageEstimated: ctx.usageEstimated,
    platform: ctx.platform,
    callId: ctx.callId,
    replayOf: ctx.replayOf,
    costMicros,
    createdAt: new Date(),
  };
}
