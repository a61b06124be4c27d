/**
 * The Responses assembly (protocols/responses/response.ts) on event sequences the upstream
 * families produce: text then tool calls, parallel calls, a call with no arguments, text after a
 * call, usage details, content_filter, a failure. Every event and the final response validate
 * against the spec's ResponseStreamEvent and Response, and follow the lifecycle clients rely on.
 * Also the translation of requests (request.ts) on what the protocol allows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { errors } from '../src/protocol/errors.js';
import { inputItemsOf } from '../src/protocols/responses/items.js';
import { toChatRequest } from '../src/protocols/responses/request.js';
import { ResponseAssembly, type StreamEvent } from '../src/protocols/responses/response.js';
import {
  type CreateResponseBody,
  CreateResponseBody as CreateResponseSchema,
} from '../src/protocols/responses/schema.js';
import type { CompletionEvent } from '../src/providers/completion-events.js';
import { openaiSpecText } from './helpers/openai-spec.js';
import { checkResponseStream } from './helpers/responses-checks.js';

function run(events: CompletionEvent[], body: Partial<CreateResponseBody> = {}) {
  const a = new ResponseAssembly({
    id: 'resp_test',
    createdAt: 1_700_000_000,
    body: { model: 'm', ...body },
    store: true,
  });
  const out: StreamEvent[] = [...a.start()];
  for (const e of events) out.push(...a.apply(e));
  const { events: last, response } = a.finish();
  out.push(...last);
  return { events: out, response, types: out.map((e) => e.type) };
}

const usage = {
  type: 'usage' as const,
  usage: {
    prompt_tokens: 20,
    completion_tokens: 9,
    total_tokens: 29,
    prompt_tokens_details: { cached_tokens: 8 },
    completion_tokens_details: { reasoning_tokens: 4 },
  },
};

describe('the Responses assembly', () => {
  it('text, then two calls: the message closes before the first call, each call is its own item', () => {
    const { events, response, types } = run([
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_start', key: 0, id: 'call_a', name: 'get_weather' },
      { type: 'tool_args', key: 0, delta: '{"city":' },
      { type: 'tool_start', key: 1, id: 'call_b', name: 'get_time' },
      { type: 'tool_args', key: 0, delta: '"Paris"}' },
      { type: 'finish', reason: 'tool_calls' },
      usage,
    ]);
    checkResponseStream(events.map((data) => ({ data })));
    assert.equal(types.indexOf('response.output_item.done') < types.lastIndexOf('response.output_item.added'), true);
    assert.deepEqual(
      response.output.map((o) => o.type),
      ['message', 'function_call', 'function_call'],
    );
    const [, a, b] = response.output as { call_id: string; arguments: string; status: string }[];
    assert.equal(a!.call_id, 'call_a');
    assert.equal(a!.arguments, '{"city":"Paris"}', 'interleaved deltas land on their own call');
    assert.equal(b!.arguments, '{}', 'a call with no arguments still parses');
    assert.equal(b!.status, 'completed');
    assert.deepEqual(response.usage, {
      input_tokens: 20,
      input_tokens_details: { cached_tokens: 8, cache_write_tokens: 0 },
      output_tokens: 9,
      output_tokens_details: { reasoning_tokens: 4 },
      total_tokens: 29,
    });
    const done = events.filter((e) => e.type === 'response.function_call_arguments.done');
    assert.deepEqual(
      done.map((e) => e.arguments),
      ['{"city":"Paris"}', '{}'],
    );
  });

  it('an answer with neither text nor call still has one (empty) message item', () => {
    const { events, response } = run([{ type: 'finish', reason: 'stop' }]);
    checkResponseStream(events.map((data) => ({ data })));
    assert.equal(response.output.length, 1);
    assert.deepEqual((response.output[0] as { content: unknown[] }).content, [
      { type: 'output_text', text: '', annotations: [], logprobs: [] },
    ]);
  });

  it('text after a call opens a new message item', () => {
    const { events, response } = run([
      { type: 'tool_start', key: 'x', id: 'call_1', name: 'f' },
      { type: 'tool_args', key: 'x', delta: '{}' },
      { type: 'text', text: 'and then' },
      { type: 'finish', reason: 'stop' },
    ]);
    checkResponseStream(events.map((data) => ({ data })));
    assert.deepEqual(
      response.output.map((o) => o.type),
      ['function_call', 'message'],
    );
  });

  it('content_filter ends incomplete; nothing after the finish but usage counts', () => {
    const { events, response } = run([
      { type: 'text', text: 'Some' },
      { type: 'finish', reason: 'content_filter' },
      { type: 'text', text: ' more' },
      usage,
    ]);
    checkResponseStream(events.map((data) => ({ data })));
    assert.equal(response.status, 'incomplete');
    assert.deepEqual(response.incomplete_details, { reason: 'content_filter' });
    assert.equal((response.output[0] as { content: { text: string }[] }).content[0]!.text, 'Some');
    assert.equal(response.usage?.total_tokens, 29);
  });

  it('a failure: response.failed with the items so far, then the error event', () => {
    const a = new ResponseAssembly({ id: 'resp_f', createdAt: 1, body: { model: 'm' }, store: false });
    const out = [...a.start(), ...a.apply({ type: 'text', text: 'Hel' })];
    const { events, response } = a.fail(errors.internal());
    out.push(...events);
    checkResponseStream(out.map((data) => ({ data })));
    assert.deepEqual(
      events.map((e) => e.type),
      ['response.failed', 'error'],
    );
    assert.equal(response.status, 'failed');
    assert.deepEqual(response.error, { code: 'server_error', message: errors.internal().message });
    assert.equal((response.output[0] as { status: string }).status, 'incomplete');
  });
});

describe('Responses request → chat request', () => {
  it('maps every honoured field', () => {
    const body: CreateResponseBody = {
      model: 'm',
      instructions: 'Be brief.',
      input: [
        { role: 'developer', content: 'Answer in French.' },
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'What is this?' },
            { type: 'input_image', image_url: 'https://example.com/cat.png', detail: 'low' },
          ],
        },
        { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'opaque' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'A cat.' }] },
        { type: 'function_call', call_id: 'call_1', name: 'look', arguments: '{"x":1}' },
        { type: 'function_call_output', call_id: 'call_1', output: [{ type: 'input_text', text: 'seen' }] },
      ],
      tools: [{ type: 'function', name: 'look', parameters: { type: 'object', properties: {} }, strict: true }],
      tool_choice: { type: 'function', name: 'look' },
      parallel_tool_calls: false,
      max_output_tokens: 100,
      temperature: 0.5,
      top_p: 0.9,
      user: 'u1',
      reasoning: { effort: 'low' },
      text: { format: { type: 'json_schema', name: 'out', schema: { type: 'object' }, strict: true } },
      metadata: { a: 'b' },
      stream: true,
    };
    const req = toChatRequest(body, [], inputItemsOf(body.input)) as Record<string, unknown>;
    assert.deepEqual(req, {
      model: 'm',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'system', content: 'Answer in French.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'low' } },
          ],
        },
        {
          role: 'assistant',
          content: 'A cat.',
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'look', arguments: '{"x":1}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'seen' },
      ],
      tools: [
        { type: 'function', function: { name: 'look', parameters: { type: 'object', properties: {} }, strict: true } },
      ],
      parallel_tool_calls: false,
      tool_choice: { type: 'function', function: { name: 'look' } },
      max_completion_tokens: 100,
      temperature: 0.5,
      top_p: 0.9,
      user: 'u1',
      reasoning_effort: 'low',
      response_format: { type: 'json_schema', json_schema: { name: 'out', schema: { type: 'object' }, strict: true } },
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('refuses what a chat upstream cannot carry, naming it', () => {
    const refused = (body: Partial<CreateResponseBody>, param: string) =>
      assert.throws(
        () => toChatRequest({ model: 'm', ...body }, [], inputItemsOf(body.input)),
        (e: { param?: string; status?: number }) => e.status === 400 && e.param === param,
      );
    refused({ input: 'x', tools: [{ type: 'mcp', server_label: 's' }] }, 'tools[0].type');
    refused({ input: 'x', tool_choice: { type: 'web_search_preview' } }, 'tool_choice.type');
    refused({ input: [{ type: 'custom_tool_call', call_id: 'c', name: 'apply_patch', input: '' }] }, 'input[0].type');
    refused({ input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'f' }] }] }, 'input[0].content[0].type');
    refused(
      { input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'f' }] }] },
      'input[0].content[0].image_url',
    );
  });
});

describe('the hand-written request schema against the spec', () => {
  it("names only fields of the spec's CreateResponse, with the spec's types", () => {
    const schemas = (parse(openaiSpecText()) as { components: { schemas: Record<string, Node> } }).components.schemas;
    type Node = { $ref?: string; allOf?: Node[]; anyOf?: Node[]; properties?: Record<string, Node>; type?: string };
    const props: Record<string, Node> = {};
    const walk = (n: Node | undefined) => {
      if (!n) return;
      if (n.$ref) walk(schemas[n.$ref.split('/').at(-1)!]);
      for (const part of n.allOf ?? []) walk(part);
      Object.assign(props, n.properties ?? {});
    };
    walk(schemas.CreateResponse);
    /** The JSON types a spec node allows (following refs and anyOf). */
    const types = (n: Node | undefined, into = new Set<string>()): Set<string> => {
      if (!n) return into;
      if (n.$ref) types(schemas[n.$ref.split('/').at(-1)!], into);
      for (const part of [...(n.anyOf ?? []), ...(n.allOf ?? [])]) types(part, into);
      if (n.type) into.add(n.type === 'integer' ? 'number' : n.type);
      return into;
    };
    const ours = CreateResponseSchema.properties as Record<string, { type?: string; anyOf?: { type?: string }[] }>;
    for (const [name, schema] of Object.entries(ours)) {
      assert.ok(props[name], `the spec's CreateResponse has '${name}'`);
      const mine = new Set(
        (schema.anyOf ?? [schema]).flatMap((s) => (s.type ? [s.type === 'integer' ? 'number' : s.type] : [])),
      );
      const theirs = types(props[name]);
      for (const t of mine)
        if (t !== 'null') assert.ok(theirs.size === 0 || theirs.has(t), `${name}: ${t} in ${[...theirs]}`);
    }
  });
});
