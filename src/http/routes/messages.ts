/**
 * The Anthropic Messages API: POST /v1/messages (JSON, or SSE with `stream: true`) and
 * POST /v1/messages/count_tokens, for the Anthropic SDKs and Claude Code
 * (ANTHROPIC_BASE_URL pointing at Parley). The request is translated to the canonical
 * ChatRequest (protocols/anthropic-messages/request.ts), run by the same pipeline as Chat
 * Completions (keys, allowedModels, routing, fallbacks, every provider family, the built-in
 * model), and the answer written back in Anthropic's wire format. Errors, those of
 * authentication and validation included, use Anthropic's envelope and statuses.
 *
 * Keys come as `x-api-key` (what the SDKs and Claude Code send) or `Authorization: Bearer`;
 * `anthropic-version` and `anthropic-beta` are accepted and not required.
 */
import type { FastifyInstance } from 'fastify';
import { completionEvents, streamEvents } from '../../pipeline/answer-events.js';
import type { ChatPipeline } from '../../pipeline/chat.js';
import { noteCompleted } from '../../pipeline/context.js';
import { keptIn, noteRelayedUsage } from '../../pipeline/relayed-usage.js';
import { errors } from '../../protocol/errors.js';
import { countInputTokens, imageTokens } from '../../protocols/anthropic-messages/count-tokens.js';
import { sendAnthropicError } from '../../protocols/anthropic-messages/envelope.js';
import { renderMessage } from '../../protocols/anthropic-messages/json-writer.js';
import { allTargetsSpeakMessages, passthroughCall } from '../../protocols/anthropic-messages/passthrough.js';
import { relayMessages } from '../../protocols/anthropic-messages/passthrough-writer.js';
import { toChatRequest } from '../../protocols/anthropic-messages/request.js';
import {
  CountTokensRequest,
  ErrorResponseDoc,
  MessageResponseDoc,
  MessagesRequest,
} from '../../protocols/anthropic-messages/schema.js';
import { writeMessageStream } from '../../protocols/anthropic-messages/stream-writer.js';
import { newId } from '../../protocols/anthropic-messages/wire.js';
import type { CompletionEvent } from '../../providers/completion-events.js';
import type { Route } from '../../routing/router.js';
import { RelayedStream } from '../../usage/estimate.js';
import { estimatePromptTokens } from '../../usage/tokens.js';
import { fromFastifyError } from '../errors.js';
import { addRequestScope, type ProtocolDeps, serve } from '../request-scope.js';

const jsonStringify = () => (data: unknown) => JSON.stringify(data);

const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { anthropicApiKey: [] }];

const MESSAGES_EXAMPLES = {
  simple: {
    summary: 'One question, one message',
    value: { model: 'default', max_tokens: 256, messages: [{ role: 'user', content: 'Tell me a joke' }] },
  },
  stream: {
    summary: 'Streamed as Server-Sent Events, with a system prompt',
    value: {
      model: 'default',
      max_tokens: 256,
      stream: true,
      system: 'You are a friendly receptionist.',
      messages: [{ role: 'user', content: 'Hi, are you open today?' }],
    },
  },
};

const errorResponses = {
  '4xx': { description: "Anthropic's error envelope.", ...ErrorResponseDoc },
  '5xx': {
    description: "Anthropic's error envelope (upstream unreachable 502, timeout 504, overloaded 529).",
    ...ErrorResponseDoc,
  },
};

const messagesRouteSchema = {
  summary: 'Create a message (Anthropic Messages API)',
  description:
    'Anthropic-compatible Messages API, on every upstream Parley routes to. With `"stream": true` the answer is ' +
    'Server-Sent Events with `event:` names: message_start, content_block_start/delta/stop, ping, message_delta, ' +
    'message_stop (an `error` event if the upstream fails mid-stream). Keys as `x-api-key` or `Authorization: Bearer`.',
  tags: ['anthropic'],
  security,
  body: { allOf: [MessagesRequest], 'x-examples': MESSAGES_EXAMPLES },
  response: {
    200: {
      description: 'A message, or its stream of events when `stream` is true.',
      content: {
        'application/json': { schema: MessageResponseDoc },
        'text/event-stream': {
          schema: { type: 'string', description: 'SSE: `event: <type>` and `data: <JSON>` per event.' },
        },
      },
    },
    ...errorResponses,
  },
};

const countTokensRouteSchema = {
  summary: "Count a message's input tokens (Anthropic Messages API)",
  description:
    "The prompt's tokens as Parley's tokenizer counts them (exact for OpenAI's models, an estimate within a few percent for others).",
  tags: ['anthropic'],
  security,
  body: {
    allOf: [CountTokensRequest],
    'x-examples': { simple: { value: { model: 'default', messages: [{ role: 'user', content: 'Hello' }] } } },
  },
  response: {
    200: {
      description: 'The input token count.',
      type: 'object',
      properties: { input_tokens: { type: 'integer' } },
      required: ['input_tokens'],
    },
    ...errorResponses,
  },
};

/** OpenAI model names that take `reasoning_effort` (o1, o3, o4-mini, gpt-5…). */
const REASONING_MODEL = /^(?:[\w.-]+\/)?(?:o\d|gpt-5)/i;

/**
 * Whether the route's first target accepts a reasoning effort: a translating provider
 * (Anthropic, Gemini) maps it to its own thinking setting; an OpenAI-compatible one does only
 * for reasoning models (the others refuse the parameter); the built-in model ignores it.
 */
function reasoningCapable(route: Route | null): boolean {
  const target = route?.targets[0];
  if (!target || target.provider.type === 'builtin') return false;
  if (target.provider.type !== 'openai-compatible') return true;
  return REASONING_MODEL.test(target.model);
}

/** The model's route, or null when there is none (run() then answers with the proper error). */
function routeOf(pipeline: ChatPipeline, model: string): Route | null {
  try {
    return pipeline.route(model);
  } catch {
    return null;
  }
}

export async function messagesRoutes(app: FastifyInstance, deps: ProtocolDeps): Promise<void> {
  // Anthropic's clients read the request id from `request-id` (the SDKs' `_request_id`).
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('request-id', request.id);
    done();
  });

  await app.register(async (scope) => {
    addRequestScope(scope, deps.recorder, sendAnthropicError);
    scope.post<{ Body: MessagesRequest }>(
      '/v1/messages',
      { schema: messagesRouteSchema, serializerCompiler: jsonStringify, config: { chat: 'anthropic', auth: true } },
      (request, reply) =>
        serve(request, reply, deps, sendAnthropicError, async (ctx, signal) => {
          const body = request.body;
          const route = routeOf(deps.pipeline, body.model);
          const chat = toChatRequest(body, {
            reasoning: reasoningCapable(route),
            serverToolsPassThrough: allTargetsSpeakMessages(route),
          });
          // Targets that speak the Messages API get the client's body itself (passthrough.ts).
          let relayed = false;
          const direct = passthroughCall(body, () => {
            relayed = true;
          });
          const answer = await deps.pipeline.run(chat, ctx, signal, request.log, direct);
          // The limits' x-ratelimit-* go with the answer (a stream's with its first event).
          if (ctx.limitHeaders) reply.headers(ctx.limitHeaders);
          if (relayed) {
            await relayMessages(reply, answer, ctx, { signal, log: request.log });
            return;
          }
          const meta = {
            id: newId('msg'),
            model: body.model,
            estimatedInputTokens: estimatePromptTokens(chat) + imageTokens(body),
          };
          if (answer.kind === 'stream') {
            // Kept in case the stream ends without the upstream's usage (pipeline/relayed-usage.ts).
            const relayedPayloads = new RelayedStream();
            try {
              await writeMessageStream(reply, streamEvents(keptIn(answer.events, relayedPayloads), ctx.provider), ctx, {
                signal,
                log: request.log,
                meta,
              });
            } finally {
              noteRelayedUsage(ctx, relayedPayloads, chat, signal.aborted);
            }
            return;
          }
          const events: CompletionEvent[] = completionEvents(answer.body, ctx.provider);
          let usage = answer.usage;
          for (const e of events) if (e.type === 'usage') usage ??= e.usage;
          noteCompleted(ctx, usage);
          await reply.header('content-type', 'application/json').send(JSON.stringify(renderMessage(events, meta)));
        }),
    );
  });

  // count_tokens costs nothing upstream: it is not a usage record, so it has no request scope,
  // only Anthropic's envelope for its errors.
  await app.register(async (scope) => {
    scope.setErrorHandler((err, request, reply) => {
      const e = fromFastifyError(err, request);
      if (e.status >= 500) request.log.error({ err }, 'unhandled error');
      return sendAnthropicError(reply, e);
    });
    scope.post<{ Body: CountTokensRequest }>(
      '/v1/messages/count_tokens',
      { schema: countTokensRouteSchema, config: { auth: true } },
      async (request) => {
        const body = request.body;
        const allowed = request.principal?.allowedModels;
        if (allowed && !allowed.includes(body.model)) throw errors.modelNotAllowed(body.model);
        deps.pipeline.route(body.model); // model_not_found, as /v1/messages would answer
        return { input_tokens: countInputTokens(body) };
      },
    );
  });
}
