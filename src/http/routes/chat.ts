/**
 * POST /v1/chat/completions, and POST /chat/completions for clients (Vapi) whose base URL
 * is Parley's root. Both run the same pipeline; the body is validated against the
 * official CreateChatCompletionRequest schema before the handler runs.
 */
import type { FastifyInstance } from 'fastify';
import type { ChatRequest } from '../../protocol/chat.js';
import { ref } from '../../protocol/schemas.js';
import { asApiError, errorHeaders, type ChatPipeline } from '../../pipeline/chat.js';
import { sendApiError } from '../errors.js';
import type { ChatRecorder } from '../record.js';

const jsonStringify = () => (data: unknown) => JSON.stringify(data);

/** Small, realistic request bodies, by name (OpenAPI Example Objects): `default` is always routable. */
export const CHAT_EXAMPLES = {
  simple: { summary: 'One question, one JSON completion', value: { model: 'default', messages: [{ role: 'user', content: 'Tell me a joke' }] } },
  stream: {
    summary: 'Streamed as Server-Sent Events',
    value: { model: 'default', stream: true, messages: [{ role: 'system', content: 'You are a friendly receptionist.' }, { role: 'user', content: 'Hi, are you open today?' }] },
  },
};

export const chatRouteSchema = {
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
          schema: { type: 'string', description: 'SSE: one `data: <CreateChatCompletionStreamResponse JSON>` per chunk, then `data: [DONE]`.' },
        },
      },
    },
    '4xx': { description: 'OpenAI error envelope.', ...ref('ErrorResponse') },
    '5xx': { description: 'OpenAI error envelope (upstream unreachable 502, upstream timeout 504).', ...ref('ErrorResponse') },
  },
};

export function chatRoutes(app: FastifyInstance, pipeline: ChatPipeline, recorder: ChatRecorder): void {
  for (const url of ['/v1/chat/completions', '/chat/completions']) {
    app.post<{ Body: ChatRequest }>(
      url,
      {
        schema: { ...chatRouteSchema, ...(url === '/chat/completions' ? { summary: 'Create a chat completion (root path, as Vapi calls it)' } : {}) },
        // The response schemas document the API; bodies are sent as JSON text already.
        serializerCompiler: jsonStringify,
        config: { chat: url === '/chat/completions' ? 'vapi' : 'openai' },
      },
      async (request, reply) => {
        const ctx = request.chat!;
        try {
          await pipeline.handle(request.body, ctx, reply);
        } catch (err) {
          const e = asApiError(err);
          if (e.status >= 500 && !(err as { status?: number }).status) request.log.error({ err }, 'chat request failed');
          ctx.status = e.status;
          ctx.errorType = e.type;
          if (!reply.sent && !reply.raw.headersSent) {
            // An upstream 429's retry-after and x-ratelimit-* go with it; a target that answered after it sends none.
            const headers = errorHeaders(e);
            if (headers) reply.headers(headers);
            sendApiError(reply, e);
          }
        } finally {
          recorder.finish(request, ctx);
        }
        return reply;
      },
    );
  }
}
