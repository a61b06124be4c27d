/**
 * What Parley knows about one chat request as it moves through the pipeline; it becomes
 * the request's log line and its usage record when the request ends.
 */
import type { Principal } from '../auth/keys.js';
import type { Usage } from '../protocol/chat.js';
import type { RequestRecord, VapiCallContext } from '../usage/record.js';

export interface ChatContext {
  requestId: string;
  /** performance.now() when the request arrived. */
  start: number;
  route: 'openai' | 'vapi';
  principal: Principal | null;
  requestedModel: string | null;
  provider: string | null;
  upstreamModel: string | null;
  stream: boolean;
  status: number;
  errorType: string | null;
  usage: Usage | null;
  ttftMs: number | null;
  clientAborted: boolean;
  fallback: boolean;
  vapi: VapiCallContext | null;
  /** Set once the record has been written, so every request yields exactly one. */
  recorded: boolean;
}

export function newContext(requestId: string, route: 'openai' | 'vapi', start: number): ChatContext {
  return {
    requestId,
    start,
    route,
    principal: null,
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
    recorded: false,
  };
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

export function toRecord(ctx: ChatContext, now: number): RequestRecord {
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
    promptTokens: tokenCount(ctx.usage?.prompt_tokens),
    completionTokens: tokenCount(ctx.usage?.completion_tokens),
    totalTokens: tokenCount(ctx.usage?.total_tokens),
    ttftMs: ctx.ttftMs,
    durationMs: Math.round((now - ctx.start) * 1000) / 1000,
    clientAborted: ctx.clientAborted,
    fallback: ctx.fallback,
    vapi: ctx.vapi,
    createdAt: new Date(),
  };
}
