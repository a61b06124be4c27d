/**
 * Every failure Fastify or a route raises becomes OpenAI's error envelope with the
 * right status; nothing reaches a client as a stack trace or a bare 500 page.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, validationError } from '../protocol/errors.js';

/**
 * The client closed its connection while its body was still arriving (an abandoned upload):
 * no answer reaches anyone, and the request is recorded as a client abort (499, as nginx
 * logs it), like a client that leaves during a response — not as a 400 of its own making.
 */
export const CLIENT_CLOSED = new ApiError(499, 'The client closed the connection before its request arrived.', 'invalid_request_error', 'client_closed_request');

/** Node's request timeout cut the body (http/client-errors.ts answered the 408 on the socket). */
const BODY_TIMED_OUT = new ApiError(408, 'The request did not fully arrive in time (PARLEY_BODY_TIMEOUT_MS).', 'invalid_request_error', 'request_timeout');

export function toApiError(err: FastifyError | Error, request: FastifyRequest): ApiError {
  if (err instanceof ApiError) return err;
  // Reading the body failed because the connection is gone: ours (timeout) or the client's doing.
  const raw = request.raw;
  if (raw.destroyed && !raw.complete) {
    return (raw.socket?.errored as { code?: string } | null)?.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? BODY_TIMED_OUT : CLIENT_CLOSED;
  }
  const fe = err as FastifyError;
  if (fe.validation) return validationError(fe.validation as never, request.body);
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'The request body is larger than this server accepts.', 'invalid_request_error', 'request_too_large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, `Unsupported Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')}: send application/json.`, 'invalid_request_error', 'unsupported_media_type');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'The request body is empty; send a JSON object.', 'invalid_request_error', 'invalid_json');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError(400, 'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly. The OpenAI API expects a JSON payload.)', 'invalid_request_error', 'invalid_json');
  }
  if (err instanceof SyntaxError || fe.statusCode === 400) {
    return new ApiError(400, 'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly. The OpenAI API expects a JSON payload.)', 'invalid_request_error', 'invalid_json');
  }
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new ApiError(fe.statusCode, fe.message, 'invalid_request_error', fe.code ?? null);
  }
  return new ApiError(500, 'The server had an error while processing your request.', 'server_error', null);
}

export function sendApiError(reply: FastifyReply, e: ApiError): FastifyReply {
  return reply.code(e.status).header('content-type', 'application/json; charset=utf-8').send(e.toJson());
}
