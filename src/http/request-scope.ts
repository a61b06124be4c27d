/**
 * What every client protocol's routes share around the pipeline (Chat Completions, and the
 * Responses and Messages APIs): the per-request context, the error handler that records a
 * request failing before its handler, the abort when the client leaves, the requests in flight
 * shutdown may end, and exactly one usage record per authenticated request.
 *
 * A protocol's plugin calls `addRequestScope` once (registered without fastify-plugin, so the
 * hooks stay inside it) and wraps each handler's work in `serve`. What differs between
 * protocols is passed in: the route name recorded, how an error is answered (each protocol
 * has its own envelope), and the work itself (translate, run the pipeline, write).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ChatPipeline } from '../pipeline/chat.js';
import { type ChatContext, newContext, noteClientAbort, noteFailure, noteRequest } from '../pipeline/context.js';
import { ApiError, ShuttingDownError, toApiError } from '../protocol/errors.js';
import type { RequestRecord } from '../usage/record.js';
import type { Inflight } from './chat/inflight.js';
import type { ChatRecorder } from './chat/record.js';
import { fromFastifyError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's context on a protocol route (null elsewhere). */
    chat: ChatContext | null;
  }
  interface FastifyContextConfig {
    /** Set on protocol routes: which route the usage record names. */
    chat?: RequestRecord['route'];
  }
}

export interface ProtocolDeps {
  pipeline: ChatPipeline;
  recorder: ChatRecorder;
  /** Requests in flight, so shutdown can end streams that outlive its grace period. */
  inflight: Inflight;
}

/** Answers an error in the protocol's own envelope (OpenAI's, Anthropic's). */
export type ErrorSender = (reply: FastifyReply, e: ApiError) => FastifyReply;

/** Abort reason when the client's connection closes before the answer was written. */
const CLIENT_LEFT = new Error('client disconnected');

export function addRequestScope(app: FastifyInstance, recorder: ChatRecorder, sendError: ErrorSender): void {
  app.decorateRequest('chat', null);

  // After the app's onRequest hook has authenticated the request (a refused one never gets here).
  // Callback-style hooks: no promise per request for work that is synchronous.
  app.addHook('onRequest', (request, _reply, done) => {
    request.chat = contextOf(request);
    done();
  });

  // A request that fails before its handler (refused at shutdown, bad body, client gone
  // mid-upload) is still recorded, when it was authenticated.
  app.setErrorHandler((err, request, reply) => {
    const e = fromFastifyError(err, request);
    if (e.status >= 500) request.log.error({ err }, 'unhandled error');
    if (!request.chat && request.principal) request.chat = contextOf(request);
    const ctx = request.chat;
    if (ctx) {
      noteRequest(ctx, request.body);
      if (e.code === 'client_closed_request') noteClientAbort(ctx);
      else noteFailure(ctx, e);
      recorder.finish(request, ctx);
    }
    return sendError(reply, e);
  });
}

/**
 * Runs one request's work with the client's abort signal, then records it. `work` throws only
 * before anything was sent (the error is answered with `sendError`); after that, writers end
 * their stream in-band themselves.
 */
export async function serve(
  request: FastifyRequest,
  reply: FastifyReply,
  { recorder, inflight }: ProtocolDeps,
  sendError: ErrorSender,
  work: (ctx: ChatContext, signal: AbortSignal) => Promise<void>,
): Promise<FastifyReply> {
  const ctx = request.chat!;
  const res = reply.raw;
  const ac = new AbortController();
  // The client leaving aborts the upstream at once: tokens cost money.
  const onClose = () => {
    if (!res.writableFinished) ac.abort(CLIENT_LEFT);
  };
  res.once('close', onClose);
  inflight.add(ac);
  try {
    await work(ctx, ac.signal);
  } catch (err) {
    const reason: unknown = ac.signal.reason;
    if (ac.signal.aborted && !(reason instanceof ShuttingDownError)) {
      // Nobody is left to answer.
      noteClientAbort(ctx);
      if (!reply.sent) reply.hijack();
      if (!res.destroyed) res.destroy();
    } else {
      const e = toApiError(reason instanceof ShuttingDownError ? reason : err);
      if (!(err instanceof ApiError)) request.log.error({ err }, 'request failed');
      noteFailure(ctx, e);
      if (!reply.sent && !res.headersSent) sendError(reply, e);
    }
  } finally {
    res.off('close', onClose);
    inflight.delete(ac);
    recorder.finish(request, ctx);
  }
  return reply;
}

function contextOf(request: {
  id: string;
  principal: ChatContext['principal'];
  routeOptions: { config: { chat?: RequestRecord['route'] } };
}): ChatContext {
  return newContext(request.id, request.routeOptions.config.chat ?? 'openai', performance.now(), request.principal);
}
