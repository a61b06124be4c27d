/**
 * The chat plugin: POST /v1/chat/completions, and POST /chat/completions for clients (Vapi)
 * whose base URL is Parley's root. Both run the same pipeline; the body is validated against
 * the official CreateChatCompletionRequest schema before the handler runs.
 *
 * Everything only chat requests need lives here, encapsulated (registered without
 * fastify-plugin): the per-request context, Vapi's fields taken off the body, the error
 * handler that records a failed request, and the requests in flight that shutdown may end.
 */
import type { FastifyInstance } from 'fastify';
import type { ChatPipeline } from '../../pipeline/chat.js';
import {
  type ChatContext,
  newContext,
  noteClientAbort,
  noteFailure,
  noteRequest,
  noteVapiCall,
} from '../../pipeline/context.js';
import { type ChatRequest, includeUsageOf } from '../../protocol/chat.js';
import { ApiError, ShuttingDownError, toApiError } from '../../protocol/errors.js';
import { ref } from '../../protocol/schemas.js';
import { isVapiRequest, vapiContextOf, withoutVapiFields } from '../../vapi/context.js';
import type { Inflight } from '../chat/inflight.js';
import type { ChatRecorder } from '../chat/record.js';
import { writeAnswer } from '../chat/writer.js';
import { fromFastifyError, sendApiError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The chat request's context (the chat routes only; null elsewhere). */
    chat: ChatContext | null;
  }
  interface FastifyContextConfig {
    /** Set on the chat routes: which route the usage record names. */
    chat?: 'openai' | 'vapi';
  }
}

const jsonStringify = () => (data: unknown) => JSON.stringify(data);

/** Small, realistic request bodies, by name (OpenAPI Example Objects): `default` is always routable. */
const CHAT_EXAMPLES = {
  simple: {
    summary: 'One question, one JSON completion',
    value: { model: 'default', messages: [{ role: 'user', content: 'Tell me a joke' }] },
  },
  stream: {
    summary: 'Streamed as Server-Sent Events',
    value: {
      model: 'default',
      stream: true,
      messages: [
        { role: 'system', content: 'You are a friendly receptionist.' },
        { role: 'user', content: 'Hi, are you open today?' },
      ],
    },
  },
};

const chatRouteSchema = {
  summary: 'Create a chat completion',
  description:
    'OpenAI-compatible Chat Completions. With `"stream": true` the answer is Server-Sent Events: `data: <chat.completion.chunk>` lines, then `data: [DONE]`. Whether to stream is decided by `stream` alone, whatever the Accept header says.',
  tags: ['chat'],
  security: [{ bearerAuth: [] }],
  // Examples for /docs' "Try it out": Swagger UI would otherwise send a sample built from the
  // whole schema, which is refused (a made-up model, one of every content part…). Inside allOf
  // because @fastify/swagger drops keywords beside a $ref; Ajv validates the same (measured:
  // no slower per request).
  body: { allOf: [ref('CreateChatCompletionRequest')], 'x-examples': CHAT_EXAMPLES },
  response: {
    200: {
      description: 'A chat completion, or its stream of chunks when `stream` is true.',
      content: {
        'application/json': { schema: ref('CreateChatCompletionResponse') },
        'text/event-stream': {
          schema: {
            type: 'string',
            description: 'SSE: one `data: <CreateChatCompletionStreamResponse JSON>` per chunk, then `data: [DONE]`.',
          },
        },
      },
    },
    '4xx': { description: 'OpenAI error envelope.', ...ref('ErrorResponse') },
    '5xx': {
      description: 'OpenAI error envelope (upstream unreachable 502, upstream timeout 504).',
      ...ref('ErrorResponse'),
    },
  },
};

export interface ChatRouteDeps {
  pipeline: ChatPipeline;
  recorder: ChatRecorder;
  /** Requests in flight, so shutdown can end streams that outlive its grace period. */
  inflight: Inflight;
}

/** Abort reason when the client's connection closes before the answer was written. */
const CLIENT_LEFT = new Error('client disconnected');

export async function chatRoutes(app: FastifyInstance, { pipeline, recorder, inflight }: ChatRouteDeps): Promise<void> {
  app.decorateRequest('chat', null);

  // After the app's onRequest hook has authenticated the request (a refused one never gets here).
  // Callback-style hooks: no promise per request for work that is synchronous.
  app.addHook('onRequest', (request, _reply, done) => {
    request.chat = contextOf(request);
    done();
  });

  // Vapi's own fields (call, customer, metadata of any shape, …) are taken off the body before
  // the OpenAI schema sees it: they are facts about the call, not OpenAI parameters.
  app.addHook('preValidation', (request, _reply, done) => {
    const ctx = request.chat;
    if (ctx && isVapiRequest(request.body)) {
      noteVapiCall(ctx, vapiContextOf(request.body));
      request.body = withoutVapiFields(request.body);
    }
    done();
  });

  // A chat request that fails before its handler (refused at shutdown, bad body, client gone
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
    return sendApiError(reply, e);
  });

  for (const url of ['/v1/chat/completions', '/chat/completions']) {
    app.post<{ Body: ChatRequest }>(
      url,
      {
        schema: {
          ...chatRouteSchema,
          ...(url === '/chat/completions' ? { summary: 'Create a chat completion (root path, as Vapi calls it)' } : {}),
        },
        // The response schemas document the API; bodies are sent as JSON text already.
        serializerCompiler: jsonStringify,
        config: { chat: url === '/chat/completions' ? 'vapi' : 'openai', auth: true },
      },
      async (request, reply) => {
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
          const answer = await pipeline.run(request.body, ctx, ac.signal, request.log);
          // The limits' x-ratelimit-* go with the answer (a stream's with its first chunk).
          if (ctx.limitHeaders) reply.headers(ctx.limitHeaders);
          await writeAnswer(reply, answer, ctx, {
            includeUsage: includeUsageOf(request.body),
            signal: ac.signal,
            log: request.log,
          });
        } catch (err) {
          const reason: unknown = ac.signal.reason;
          if (ac.signal.aborted && !(reason instanceof ShuttingDownError)) {
            // Nobody is left to answer.
            noteClientAbort(ctx);
            if (!reply.sent) reply.hijack();
            if (!res.destroyed) res.destroy();
          } else {
            const e = toApiError(reason instanceof ShuttingDownError ? reason : err);
            if (!(err instanceof ApiError)) request.log.error({ err }, 'chat request failed');
            noteFailure(ctx, e);
            if (!reply.sent && !res.headersSent) sendApiError(reply, e);
          }
        } finally {
          res.off('close', onClose);
          inflight.delete(ac);
          recorder.finish(request, ctx);
        }
        return reply;
      },
    );
  }
}

function contextOf(request: {
  id: string;
  principal: ChatContext['principal'];
  routeOptions: { config: { chat?: 'openai' | 'vapi' } };
}): ChatContext {
  return newContext(request.id, request.routeOptions.config.chat ?? 'openai', performance.now(), request.principal);
}
