/**
 * What every stream writer (Chat Completions, Responses, Messages, the Messages passthrough)
 * does when its stream fails, written once: the client leaving ends the response quietly and
 * is noted as an abort; any other failure is logged (shutdown's is not a failure of the
 * upstream) and, when nothing was sent yet, thrown so the route answers with the HTTP error.
 * Otherwise the failure is noted and returned for the writer to end its stream with, in-band,
 * in its own protocol's shape.
 */
import type { FastifyReply } from 'fastify';
import { type AttemptLog, logAttemptFailure } from '../pipeline/attempt-log.js';
import { type ChatContext, noteClientAbort, noteFailure } from '../pipeline/context.js';
import { type ApiError, ShuttingDownError, toApiError } from '../protocol/errors.js';

/** The error to end the started stream with, or null when the client is gone (nothing to write). */
export function streamFailure(
  err: unknown,
  reply: FastifyReply,
  ctx: ChatContext,
  signal: AbortSignal,
  log: AttemptLog,
  started: boolean,
): ApiError | null {
  const res = reply.raw;
  const reason: unknown = signal.reason;
  if (signal.aborted && !(reason instanceof ShuttingDownError)) {
    if (!res.writableEnded) noteClientAbort(ctx);
    if (!started) reply.hijack();
    if (!res.destroyed) res.destroy();
    return null;
  }
  const shutdown = reason instanceof ShuttingDownError;
  const failure = shutdown ? reason : err;
  if (!shutdown) logAttemptFailure(log, err, ctx.provider, ctx.upstreamModel, undefined, started);
  if (!started) throw failure;
  const e = toApiError(failure);
  noteFailure(ctx, e, false);
  return e;
}
