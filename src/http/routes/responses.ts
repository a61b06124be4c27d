/**
 * The OpenAI Responses API: POST /v1/responses (and POST /responses for clients whose base URL
 * is Parley's root), GET and DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items.
 *
 * POST runs the one pipeline: the request is translated to a ChatRequest
 * (protocols/responses/request.ts) with the stored history of previous_response_id prepended,
 * and the answer is written as a response object or its event stream. It is recorded as usage
 * on the route `responses`. The reads and the delete are not usage: they are registered in a
 * context of their own, without the request scope, and answer errors in OpenAI's envelope
 * through the app's handler. A stored response is visible only to the key that created it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { noteRequest } from '../../pipeline/context.js';
import { keptIn, noteRelayedUsage } from '../../pipeline/relayed-usage.js';
import { echoed, errors } from '../../protocol/errors.js';
import { ref } from '../../protocol/schemas.js';
import { type Item, inputItemsOf, newId } from '../../protocols/responses/items.js';
import { writeJson } from '../../protocols/responses/json-writer.js';
import { toChatRequest } from '../../protocols/responses/request.js';
import type { ResponseMeta, ResponseObject } from '../../protocols/responses/response.js';
import { CreateResponseBody } from '../../protocols/responses/schema.js';
import { historyOf, type ResponseStore } from '../../protocols/responses/store.js';
import { writeStream } from '../../protocols/responses/stream-writer.js';
import { RelayedStream } from '../../usage/estimate.js';
import { sendApiError } from '../errors.js';
import { addRequestScope, type ProtocolDeps, serve } from '../request-scope.js';

export interface ResponsesDeps extends ProtocolDeps {
  responses: ResponseStore;
}

const jsonStringify = () => (data: unknown) => JSON.stringify(data);

const EXAMPLES = {
  simple: { summary: 'One question, one response', value: { model: 'default', input: 'Tell me a joke' } },
  stream: {
    summary: 'Streamed as Server-Sent Events',
    value: { model: 'default', stream: true, instructions: 'You are a friendly receptionist.', input: 'Are you open?' },
  },
  tools: {
    summary: 'A function tool the model may call',
    value: {
      model: 'default',
      input: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [
        {
          type: 'function',
          name: 'get_weather',
          description: 'Current weather for a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      ],
      tool_choice: 'required',
    },
  },
};

const errorResponses = {
  '4xx': { description: 'OpenAI error envelope.', ...ref('ErrorResponse') },
  '5xx': { description: 'OpenAI error envelope.', ...ref('ErrorResponse') },
};

const createSchema = {
  summary: 'Create a model response (OpenAI Responses API)',
  description:
    'Served on every upstream through the chat pipeline. With `"stream": true` the answer is Server-Sent Events: `event: <type>` and `data: <event JSON>` per event (response.created … response.completed / response.incomplete / response.failed). `store` (default true) keeps the response and its input items for `previous_response_id`, retrieval and input_items, for PARLEY_RESPONSES_RETENTION_DAYS. Hosted tools (web_search, file_search, computer_use, code_interpreter, custom, …) are refused with a 400 naming the tool.',
  tags: ['responses'],
  security: [{ bearerAuth: [] }],
  body: { allOf: [CreateResponseBody], 'x-examples': EXAMPLES },
  response: {
    200: {
      description: 'A response object, or its stream of events when `stream` is true.',
      content: {
        'application/json': { schema: { type: 'object', description: 'The response object (OpenAI `Response`).' } },
        'text/event-stream': {
          schema: {
            type: 'string',
            description: 'SSE: `event: <type>` + `data: <ResponseStreamEvent JSON>` per event.',
          },
        },
      },
    },
    ...errorResponses,
  },
};

const idParams = {
  type: 'object',
  properties: { id: { type: 'string', description: 'The response id (resp_…).' } },
  required: ['id'],
};

export async function responsesRoutes(app: FastifyInstance, deps: ResponsesDeps): Promise<void> {
  await app.register(createRoutes, deps);
  await app.register(storedRoutes, deps);
}

async function createRoutes(app: FastifyInstance, deps: ResponsesDeps): Promise<void> {
  addRequestScope(app, deps.recorder, sendApiError);
  for (const url of ['/v1/responses', '/responses']) {
    app.post<{ Body: CreateResponseBody }>(
      url,
      {
        schema:
          url === '/responses' ? { ...createSchema, summary: `${createSchema.summary}, root path` } : createSchema,
        serializerCompiler: jsonStringify,
        config: { chat: 'responses', auth: true },
      },
      (request, reply) =>
        serve(request, reply, deps, sendApiError, async (ctx, signal) => {
          const body = request.body;
          noteRequest(ctx, body);
          const keyId = keyOf(request);
          const items = inputItemsOf(body.input);
          let history: Item[] = [];
          if (body.previous_response_id) {
            const found = await historyOf(deps.responses, body.previous_response_id, keyId);
            if (!found) throw errors.previousResponseNotFound(body.previous_response_id);
            history = found;
          }
          if (items.length === 0 && history.length === 0)
            throw errors.invalidParameter(
              "Missing required parameter: 'input'.",
              'missing_required_parameter',
              'input',
            );
          const chatRequest = toChatRequest(body, history, items);
          const store = body.store !== false;
          const meta: ResponseMeta = { id: newId('resp'), createdAt: Math.floor(Date.now() / 1000), body, store };
          const keep = async (response: ResponseObject) => {
            if (!store) return;
            try {
              await deps.responses.save({
                id: meta.id,
                keyId,
                previousResponseId: body.previous_response_id ?? null,
                response,
                inputItems: items,
                createdAt: new Date(),
              });
            } catch (err) {
              // The answer is made and paid for: the client gets it; only its continuation is lost.
              request.log.error(
                { err, responseId: meta.id },
                'storing the response failed: previous_response_id will not find it',
              );
            }
          };
          const answer = await deps.pipeline.run(chatRequest, ctx, signal, request.log);
          // The limits' x-ratelimit-* go with the answer (a stream's with its first event).
          if (ctx.limitHeaders) reply.headers(ctx.limitHeaders);
          if (answer.kind === 'json') await writeJson(reply, answer.body, ctx, meta, keep);
          else {
            // Kept in case the stream ends without the upstream's usage (pipeline/relayed-usage.ts).
            const relayed = new RelayedStream();
            try {
              await writeStream(reply, keptIn(answer.events, relayed), ctx, meta, { signal, log: request.log, keep });
            } finally {
              noteRelayedUsage(ctx, relayed, chatRequest, signal.aborted);
            }
          }
        }),
    );
  }
}

/** Whose responses a request may see: its key's (a fixed "open" principal when Parley runs without keys). */
function keyOf(request: FastifyRequest): string {
  return request.principal?.keyId ?? 'open';
}

async function storedRoutes(app: FastifyInstance, deps: ResponsesDeps): Promise<void> {
  const { responses } = deps;
  const common = { tags: ['responses'], security: [{ bearerAuth: [] }], params: idParams };
  for (const prefix of ['/v1', '']) {
    const hide = prefix === '';
    app.get<{ Params: { id: string } }>(
      `${prefix}/responses/:id`,
      {
        schema: {
          ...common,
          hide,
          summary: 'Retrieve a stored response',
          response: { 200: { type: 'object', description: 'The response object.' }, ...errorResponses },
        },
        serializerCompiler: jsonStringify,
        config: { auth: true },
      },
      async (request, reply) => {
        const r = await responses.get(request.params.id, keyOf(request));
        if (!r) throw errors.responseNotFound(request.params.id);
        return sendJson(reply, r.response);
      },
    );
    app.delete<{ Params: { id: string } }>(
      `${prefix}/responses/:id`,
      {
        schema: {
          ...common,
          hide,
          summary: 'Delete a stored response',
          response: {
            200: {
              type: 'object',
              properties: { id: { type: 'string' }, object: { type: 'string' }, deleted: { type: 'boolean' } },
            },
            ...errorResponses,
          },
        },
        serializerCompiler: jsonStringify,
        config: { auth: true },
      },
      async (request, reply) => {
        const id = request.params.id;
        if (!(await responses.delete(id, keyOf(request)))) throw errors.responseNotFound(id);
        return sendJson(reply, { id, object: 'response', deleted: true });
      },
    );
    app.get<{ Params: { id: string }; Querystring: Record<string, unknown> }>(
      `${prefix}/responses/:id/input_items`,
      {
        schema: {
          ...common,
          hide,
          summary: "List a stored response's input items",
          description:
            "The input items of this turn (the history of previous_response_id is listed on the earlier responses), in OpenAI's list shape. Query: `order` (`desc` by default, or `asc`), `after` (an item id), `limit` (1–100, default 20).",
          querystring: {
            type: 'object',
            properties: {
              order: { type: 'string', enum: ['asc', 'desc'] },
              after: { type: 'string' },
              limit: { type: 'string', pattern: '^[0-9]+$' },
            },
          },
          response: { 200: { type: 'object', description: 'A list of items.' }, ...errorResponses },
        },
        serializerCompiler: jsonStringify,
        config: { auth: true },
      },
      async (request, reply) => {
        const r = await responses.get(request.params.id, keyOf(request));
        if (!r) throw errors.responseNotFound(request.params.id);
        return sendJson(reply, listPage(r.inputItems, request.query));
      },
    );
  }
}

/** OpenAI's list shape over the items: order, a cursor after an item id, a page size. */
export function listPage(items: Item[], query: Record<string, unknown>) {
  const limit = query.limit === undefined ? 20 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw errors.invalidParameter(
      `Invalid 'limit': expected an integer from 1 to 100, but got ${echoed(query.limit)} instead.`,
      'invalid_value',
      'limit',
    );
  const ordered = query.order === 'asc' ? items : [...items].reverse();
  let from = 0;
  if (typeof query.after === 'string') {
    const at = ordered.findIndex((i) => i.id === query.after);
    if (at < 0)
      throw errors.invalidParameter(
        `Invalid 'after': no input item with id '${echoed(query.after)}' in this response.`,
        'invalid_value',
        'after',
      );
    from = at + 1;
  }
  const data = ordered.slice(from, from + limit);
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: from + limit < ordered.length,
  };
}

function sendJson(reply: FastifyReply, value: unknown): FastifyReply {
  return reply.header('content-type', 'application/json').send(JSON.stringify(value));
}
