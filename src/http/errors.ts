/**
 * Every failure Fastify or a route raises becomes OpenAI's error envelope with the
 * right status; nothing reaches a client as a stack trace or a bare 500 page.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, errors, LimitError, toApiError, validationError } from '../protocol/errors.js';
import { UpstreamError } from '../providers/errors.js';

/** A Fastify error (body parsing, validation, a connection gone mid-body) or anything a route threw, as the client's error. */
export function fromFastifyError(err: unknown, request: FastifyRequest): ApiError {
  if (err instanceof ApiError) return err;
  // Reading the body failed because the connection is gone: ours (timeout) or the client's doing.
  const raw = request.raw;
  if (raw.destroyed && !raw.complete) {
    return (raw.socket?.errored as { code?: string } | null)?.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? errors.bodyTimedOut()
      : errors.clientClosed();
  }
  const fe = err as FastifyError;
  if (fe.validation) return validationError(fe.validation as never, request.body);
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.bodyTooLarge();
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType(request.headers['content-type'] ?? '');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.emptyBody();
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return errors.invalidJson();
  }
  if (err instanceof SyntaxError || fe.statusCode === 400) return errors.invalidJson();
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500)
    return errors.badRequest(fe.statusCode, fe.message, fe.code ?? null);
  return toApiError(err);
}

export function sendApiError(reply: FastifyReply, e: ApiError): FastifyReply {
  // An upstream 429's retry-after and x-ratelimit-* go with it.
  if ((e instanceof UpstreamError || e instanceof LimitError) && e.headers) reply.headers(e.headers);
  return reply.code(e.status).header('content-type', 'application/json; charset=utf-8').send(e.toJson());
}
