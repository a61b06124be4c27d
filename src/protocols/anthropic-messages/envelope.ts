/**
 * Parley's errors in Anthropic's envelope: `{"type":"error","error":{"type","message"},
 * "request_id"}` with the statuses and types Anthropic's API uses, so the Anthropic SDKs raise
 * the right class (AuthenticationError for 401, RateLimitError for 429, …) and Claude Code
 * retries what Anthropic would let it retry (429, 529 overloaded, 5xx).
 *
 * The catalogue (protocol/errors.ts, providers/errors.ts) stays the one list of errors; this
 * file only says how each reads in Anthropic's words. An upstream's own OpenAI-shaped body is
 * not passed through here (an Anthropic client could not read it): its message is.
 */
import type { FastifyReply } from 'fastify';
import type { ApiError } from '../../protocol/errors.js';
import { UpstreamError } from '../../providers/errors.js';

export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'billing_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'timeout_error'
  | 'api_error'
  | 'overloaded_error';

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: AnthropicErrorType; message: string };
  request_id?: string;
}

/** The status and type Anthropic answers a failure of this status with. */
export function anthropicStatus(status: number): { status: number; type: AnthropicErrorType } {
  switch (status) {
    case 401:
      return { status, type: 'authentication_error' };
    case 402:
      return { status, type: 'billing_error' };
    case 403:
      return { status, type: 'permission_error' };
    case 404:
      return { status, type: 'not_found_error' };
    case 413:
      return { status, type: 'request_too_large' };
    case 429:
      return { status, type: 'rate_limit_error' };
    case 503:
    case 529:
      // Anthropic says "overloaded" with 529; an upstream's (or Parley's shutdown) 503 means
      // the same to a client: retry later or elsewhere. The SDKs retry 529.
      return { status: 529, type: 'overloaded_error' };
    case 504:
      return { status, type: 'timeout_error' };
  }
  if (status >= 500) return { status, type: 'api_error' };
  return { status, type: 'invalid_request_error' };
}

export function anthropicErrorBody(e: ApiError, requestId?: string): AnthropicErrorBody {
  const { type } = anthropicStatus(e.status);
  return { type: 'error', error: { type, message: e.message }, ...(requestId ? { request_id: requestId } : {}) };
}

/** Answers an error before anything was sent (the request scope's ErrorSender for these routes). */
export function sendAnthropicError(reply: FastifyReply, e: ApiError): FastifyReply {
  // An upstream 429's retry-after and x-ratelimit-* go with it, as on the chat routes.
  if (e instanceof UpstreamError && e.headers) reply.headers(e.headers);
  const { status } = anthropicStatus(e.status);
  // request-id also when authentication refused the request before the routes' own hooks ran.
  return reply
    .code(status)
    .header('content-type', 'application/json; charset=utf-8')
    .header('request-id', reply.request.id)
    .send(JSON.stringify(anthropicErrorBody(e, reply.request.id)));
}
