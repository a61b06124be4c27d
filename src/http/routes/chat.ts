/**
 * The chat plugin: POST /v1/chat/completions, and POST /chat/completions for clients (Vapi)
 * whose base URL is Parley's root. Both run the same pipeline; the body is validated against
 * the official CreateChatCompletionRequest schema before the handler runs.
 *
 * Registered without fastify-plugin, so its hooks stay inside: the request scope every client
 * protocol shares (../request-scope.ts: context, recording, aborts, errors in OpenAI's
 * envelope), a voice platform's fields taken off the body before validation
 * (voice/platforms/), and the answers shared by an Idempotency-Key (voice/idempotency/).
 */
import type { FastifyInstance } from 'fastify';
import { notePlatform } from '../../pipeline/context.js';
import { type ChatRequest, includeUsageOf } from '../../protocol/chat.js';
import { ref } from '../../protocol/schemas.js';
import type { IdempotencyCache } from '../../voice/idempotency/cache.js';
import { recognise } from '../../voice/platforms/index.js';
import { writeAnswer } from '../chat/writer.js';
import { sendApiError } from '../errors.js';
import { addRequestScope, type ProtocolDeps, serve } from '../request-scope.js';

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

export interface ChatRouteDeps extends ProtocolDeps {
  /** Answers by Idempotency-Key (Cartesia's retries). */
  idempotency: IdempotencyCache;
}

export async function chatRoutes(app: FastifyInstance, deps: ChatRouteDeps): Promise<void> {
  addRequestScope(app, deps.recorder, sendApiError);

  // A voice platform's own fields (Vapi's call, customer, metadata of any shape; ElevenLabs'
  // user_id and extra body, …) are taken off or mapped before the OpenAI schema sees the body:
  // they are facts about the call, not OpenAI parameters (voice/platforms/).
  app.addHook('preValidation', (request, _reply, done) => {
    const ctx = request.chat;
    const found = ctx ? recognise(request.body, request.headers) : null;
    if (ctx && found) {
      if (found.platform) notePlatform(ctx, found.platform, found.call);
      request.body = found.body;
    }
    done();
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
      (request, reply) =>
        serve(request, reply, deps, sendApiError, async (ctx, signal) => {
          // With an Idempotency-Key seen before, the earlier request's answer (voice/idempotency/).
          const run = (s: AbortSignal) => deps.pipeline.run(request.body, ctx, s, request.log);
          const answer = await deps.idempotency.answer(request.headers, request.body, ctx, signal, run);
          // The limits' x-ratelimit-* go with the answer (a stream's with its first chunk).
          if (ctx.limitHeaders) reply.headers(ctx.limitHeaders);
          await writeAnswer(reply, answer, ctx, {
            includeUsage: includeUsageOf(request.body),
            signal,
            log: request.log,
            request: request.body,
          });
        }),
    );
  }
}
