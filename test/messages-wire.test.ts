/**
 * The Messages API on the wire, below the SDK: the translation to Chat Completions (every
 * mapping the request.ts header documents, each result valid against OpenAI's spec), the
 * stream's exact event sequence and pings, errors in Anthropic's envelope, the client leaving.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { newContext } from '../src/pipeline/context.js';
import { countInputTokens, IMAGE_TOKENS } from '../src/protocols/anthropic-messages/count-tokens.js';
import { anthropicStatus } from '../src/protocols/anthropic-messages/envelope.js';
import { toChatRequest } from '../src/protocols/anthropic-messages/request.js';
import type { MessagesRequest } from '../src/protocols/anthropic-messages/schema.js';
import { writeMessageStream } from '../src/protocols/anthropic-messages/stream-writer.js';
import type { CompletionEvent } from '../src/providers/completion-events.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { assertSpec } from './helpers/openai-spec.js';
import { memorySink, postJson, startParley, type TestParley } from './helpers/parley.js';

const KEY = 'sk-wire';
const PNG = 'iVBORw0KGgo=';

/** An SSE body as [event name, data] pairs; every event must have both lines and agree on its type. */
function namedEvents(text: string): [string, Record<string, unknown>][] {
  return text
    .split('\n\n')
    .filter((e) => e.trim())
    .map((e) => {
      const m = /^event: (\S+)\ndata: (.*)$/s.exec(e);
      if (!m) throw new Error(`not a named SSE event: ${JSON.stringify(e)}`);
      const data = JSON.parse(m[2]!) as Record<string, unknown>;
      assert.equal(data.type, m[1], 'the event name is the data type');
      return [m[1]!, data];
    });
}

describe('Messages → Chat Completions translation', () => {
  const base = { model: 'gpt-4o-mini', max_tokens: 100 };

  it('maps system, images, tool_use / tool_result (results first, is_error, images after), and drops thinking', () => {
    const req: MessagesRequest = {
      ...base,
      system: [
        { type: 'text', text: 'You are terse.' },
        { type: 'text', text: 'Answer in French.', cache_control: { type: 'ephemeral' } },
      ],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Let me look it up.', signature: 'sig' },
            { type: 'redacted_thinking', data: 'xyz' },
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'toolu_01A', name: 'lookup', input: { q: 'cat' } },
            { type: 'tool_use', id: 'toolu_01B', name: 'lookup', input: { q: 'dog' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Here you go.' },
            { type: 'tool_result', tool_use_id: 'toolu_01A', content: 'a cat' },
            {
              type: 'tool_result',
              tool_use_id: 'toolu_01B',
              is_error: true,
              content: [
                { type: 'text', text: 'not found' },
                { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: PNG } },
              ],
            },
          ],
        },
      ],
    };
    const chat = toChatRequest(req, { reasoning: false });
    assertSpec('CreateChatCompletionRequest', chat);
    assert.deepEqual(chat.messages, [
      { role: 'system', content: 'You are terse.\n\nAnswer in French.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in this picture?' },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
        ],
      },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { id: 'toolu_01A', type: 'function', function: { name: 'lookup', arguments: '{"q":"cat"}' } },
          { id: 'toolu_01B', type: 'function', function: { name: 'lookup', arguments: '{"q":"dog"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_01A', content: 'a cat' },
      { role: 'tool', tool_call_id: 'toolu_01B', content: 'Error: not found' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Here you go.' },
          { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${PNG}` } },
        ],
      },
    ]);
    assert.equal(chat.max_tokens, 100);
  });

  it('maps the parameters: stop_sequences, metadata.user_id, temperature, top_p, tools, tool_choice; drops top_k', () => {
    const chat = toChatRequest(
      {
        ...base,
        stream: true,
        stop_sequences: ['END'],
        metadata: { user_id: 'user-42' },
        temperature: 0.2,
        top_p: 0.9,
        top_k: 5,
        service_tier: 'auto',
        tools: [{ name: 'lookup', description: 'Look up', input_schema: { type: 'object', properties: {} } }],
        tool_choice: { type: 'tool', name: 'lookup', disable_parallel_tool_use: true },
        messages: [{ role: 'user', content: 'hi' }],
      },
      { reasoning: false },
    );
    assertSpec('CreateChatCompletionRequest', chat);
    assert.deepEqual(chat, {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 100,
      stream: true,
      temperature: 0.2,
      top_p: 0.9,
      stop: ['END'],
      user: 'user-42',
      tools: [
        {
          type: 'function',
          function: { name: 'lookup', description: 'Look up', parameters: { type: 'object', properties: {} } },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'lookup' } },
      parallel_tool_calls: false,
    });
    const choice = (type: 'auto' | 'any' | 'none') =>
      toChatRequest(
        { ...base, tools: [{ name: 't' }], tool_choice: { type }, messages: [{ role: 'user', content: 'x' }] },
        {
          reasoning: false,
        },
      ).tool_choice;
    assert.equal(choice('auto'), 'auto');
    assert.equal(choice('any'), 'required');
    assert.equal(choice('none'), 'none');
  });

  it('thinking becomes reasoning_effort (with max_completion_tokens) only where the upstream has it', () => {
    const ask = (thinking: MessagesRequest['thinking'], reasoning: boolean) =>
      toChatRequest({ ...base, thinking, messages: [{ role: 'user', content: 'x' }] }, { reasoning });
    assert.equal(ask({ type: 'enabled', budget_tokens: 2048 }, false).reasoning_effort, undefined);
    assert.equal(ask({ type: 'enabled', budget_tokens: 2048 }, false).max_tokens, 100);
    const low = ask({ type: 'enabled', budget_tokens: 2048 }, true);
    assertSpec('CreateChatCompletionRequest', low);
    assert.equal(low.reasoning_effort, 'low');
    assert.equal(low.max_completion_tokens, 100);
    assert.equal(low.max_tokens, undefined);
    assert.equal(ask({ type: 'enabled', budget_tokens: 8000 }, true).reasoning_effort, 'medium');
    assert.equal(ask({ type: 'enabled', budget_tokens: 32000 }, true).reasoning_effort, 'high');
    assert.equal(ask({ type: 'disabled' }, true).reasoning_effort, undefined);
    assert.equal(ask({ type: 'adaptive' }, true).reasoning_effort, undefined);
  });

  it('refuses a server tool with a 400 naming it', () => {
    assert.throws(
      () =>
        toChatRequest(
          { ...base, tools: [{ type: 'bash_20250124', name: 'bash' }], messages: [{ role: 'user', content: 'x' }] },
          { reasoning: false },
        ),
      (e: { status?: number; message?: string }) => e.status === 400 && /bash_20250124/.test(e.message ?? ''),
    );
  });

  it('count_tokens counts text, tools and images', () => {
    const text = countInputTokens({ model: 'm', messages: [{ role: 'user', content: 'hello world' }] });
    const withImage = countInputTokens({
      model: 'm',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'hello world' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
          ],
        },
      ],
    });
    assert.ok(text > 0);
    assert.equal(withImage, text + IMAGE_TOKENS);
  });
});

describe('Messages API on the wire', () => {
  let up: MockUpstream;
  let p: TestParley;
  const sink = memorySink();
  before(async () => {
    up = await startMockUpstream();
    p = await startParley(
      { PARLEY_API_KEYS: KEY, OPENAI_API_KEY: 'sk-up', OPENAI_BASE_URL: up.url },
      {
        providers: { offline: { type: 'builtin' } },
        models: { offline: { provider: 'offline', model: 'parley-offline' } },
      },
      {},
      sink,
    );
  });
  after(async () => {
    await p.close();
    await up.close();
  });
  const headers = { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'anthropic-beta': 'some-beta-2025-01-01' };
  const ask = { model: 'gpt-4o-mini', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] };

  it('streams message_start, ping, one text block, message_delta with usage, message_stop', async () => {
    up.scenarios.set('*', { kind: 'text', text: 'Hello there friend' });
    const res = await postJson(`${p.url}/v1/messages`, { ...ask, stream: true }, headers);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.match(res.headers.get('request-id') ?? '', /^req_/);
    const events = namedEvents(await res.text());
    assert.deepEqual(
      events.map(([name]) => name),
      [
        'message_start',
        'ping',
        'content_block_start',
        'content_block_delta',
        'content_block_delta',
        'content_block_delta',
        'content_block_stop',
        'message_delta',
        'message_stop',
      ],
    );
    const start = events[0]![1] as { message: { id: string; usage: { input_tokens: number } } };
    assert.match(start.message.id, /^msg_/);
    assert.ok(start.message.usage.input_tokens > 0);
    assert.deepEqual(events[2]![1], {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
    });
    const text = events
      .filter(([n]) => n === 'content_block_delta')
      .map(([, d]) => (d as { delta: { text: string } }).delta.text)
      .join('');
    assert.equal(text, 'Hello there friend');
    // The upstream's usage (the mock reports 11 in, 7 out) is the final word, in Anthropic's names.
    assert.deepEqual(events[7]![1], {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { input_tokens: 11, output_tokens: 7 },
    });
    // Parley asked the upstream for usage on the stream, in a valid Chat request.
    const sent = up.received.at(-1)!.body;
    assertSpec('CreateChatCompletionRequest', sent);
    assert.deepEqual(sent.stream_options, { include_usage: true });
  });

  it('max_tokens reached is stop_reason max_tokens', async () => {
    const res = await postJson(`${p.url}/v1/messages`, { ...ask, model: 'offline', max_tokens: 2 }, headers);
    const msg = (await res.json()) as { stop_reason: string; content: { text: string }[] };
    assert.equal(msg.stop_reason, 'max_tokens');
    assert.equal(msg.content[0]!.text.split(' ').length, 2);
  });

  it("an upstream error mid-stream is one `event: error` in Anthropic's envelope, and the stream ends", async () => {
    up.scenarios.set('*', { kind: 'midstream-error', afterChunks: 2 });
    const res = await postJson(`${p.url}/v1/messages`, { ...ask, stream: true }, headers);
    assert.equal(res.status, 200);
    const events = namedEvents(await res.text());
    const [name, data] = events.at(-1)!;
    assert.equal(name, 'error');
    assert.deepEqual(Object.keys(data).sort(), ['error', 'request_id', 'type']);
    assert.equal((data.error as { type: string }).type, 'api_error');
    assert.ok(!events.some(([n]) => n === 'message_stop'));
    up.scenarios.set('*', { kind: 'text' });
  });

  it("refuses a missing or wrong Bearer key with Anthropic's 401; the chat route takes x-api-key too", async () => {
    for (const h of [{}, { authorization: 'Bearer nope' }] as Record<string, string>[]) {
      const res = await postJson(`${p.url}/v1/messages`, ask, h);
      assert.equal(res.status, 401);
      const body = (await res.json()) as { type: string; error: { type: string } };
      assert.equal(body.type, 'error');
      assert.equal(body.error.type, 'authentication_error');
    }
    const bearer = await postJson(`${p.url}/v1/messages`, ask, { authorization: `Bearer ${KEY}` });
    assert.equal(bearer.status, 200);
    const chat = await postJson(
      `${p.url}/v1/chat/completions`,
      { model: 'offline', messages: [{ role: 'user', content: 'hi' }] },
      { 'x-api-key': KEY },
    );
    assert.equal(chat.status, 200);
  });

  it('a bad body is a 400 naming the field: unknown block type, bad JSON, empty messages', async () => {
    const doc = await postJson(
      `${p.url}/v1/messages`,
      { ...ask, messages: [{ role: 'user', content: [{ type: 'document', source: {} }] }] },
      headers,
    );
    assert.equal(doc.status, 400);
    const body = (await doc.json()) as { error: { type: string; message: string } };
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.message, /'document'.*'text', 'image', 'tool_use', 'tool_result'/);
    const badJson = await postJson(`${p.url}/v1/messages`, '{"model":', headers);
    assert.equal(badJson.status, 400);
    assert.equal(((await badJson.json()) as { type: string }).type, 'error');
    const empty = await postJson(`${p.url}/v1/messages`, { ...ask, messages: [] }, headers);
    assert.equal(empty.status, 400);
    assert.match(((await empty.json()) as { error: { message: string } }).error.message, /messages/);
  });

  it('the upstream is aborted when the client leaves mid-stream, and the record says so', async () => {
    up.scenarios.set('*', { kind: 'stall', afterChunks: 3 });
    const before = up.aborted;
    const ac = new AbortController();
    const res = await fetch(`${p.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ ...ask, stream: true }),
      signal: ac.signal,
    });
    const requestId = res.headers.get('request-id');
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    for (let i = 0; i < 100 && up.aborted === before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(up.aborted, before + 1);
    for (let i = 0; i < 100 && !sink.records.some((r) => r.requestId === requestId); i++)
      await new Promise((r) => setTimeout(r, 20));
    const rec = sink.records.find((r) => r.requestId === requestId);
    assert.equal(rec?.route, 'anthropic');
    assert.equal(rec?.clientAborted, true);
    // What was streamed before the client left is counted (Parley's tokenizer), never recorded as zero.
    assert.equal(rec?.usageEstimated, true);
    assert.ok((rec?.completionTokens ?? 0) > 0, `completion tokens ${rec?.completionTokens}`);
    up.scenarios.set('*', { kind: 'text' });
  });
});

describe('Messages stream pings', () => {
  it('sends a ping whenever the stream is silent for the ping interval', async () => {
    const app = Fastify();
    async function* slow(): AsyncGenerator<CompletionEvent> {
      yield { type: 'text', text: 'Hello' };
      await new Promise((r) => setTimeout(r, 250));
      yield { type: 'text', text: ' world' };
      yield { type: 'finish', reason: 'stop' };
    }
    app.post('/m', async (request, reply) => {
      const ctx = newContext(request.id, 'anthropic', performance.now());
      await writeMessageStream(reply, slow(), ctx, {
        signal: new AbortController().signal,
        log: request.log,
        meta: { id: 'msg_1', model: 'm', estimatedInputTokens: 3 },
        pingMs: 60,
      });
      return reply;
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${url}/m`, { method: 'POST' });
      const names = namedEvents(await res.text()).map(([n]) => n);
      const first = names.indexOf('content_block_delta');
      const second = names.lastIndexOf('content_block_delta');
      assert.equal(names[1], 'ping', 'one ping right after message_start');
      const between = names.slice(first + 1, second).filter((n) => n === 'ping').length;
      assert.ok(between >= 2, `pings while the stream waited: ${names.join(',')}`);
      assert.deepEqual(names.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
    } finally {
      await app.close();
    }
  });
});

describe('Messages API without an upstream for the model', () => {
  it("an unknown model is Anthropic's 404 not_found_error, on /v1/messages and on count_tokens", async () => {
    const p = await startParley();
    try {
      for (const [path, body] of [
        ['/v1/messages', { model: 'no-such-model', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }],
        ['/v1/messages/count_tokens', { model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }],
      ] as const) {
        const res = await postJson(`${p.url}${path}`, body);
        assert.equal(res.status, 404, path);
        const err = (await res.json()) as { type: string; error: { type: string; message: string } };
        assert.equal(err.type, 'error');
        assert.equal(err.error.type, 'not_found_error');
        assert.match(err.error.message, /no-such-model/);
      }
    } finally {
      await p.close();
    }
  });
});

describe("Parley's errors in Anthropic's statuses and types", () => {
  it('maps each status as Anthropic answers it (503 → 529 overloaded)', () => {
    const table: [number, number, string][] = [
      [400, 400, 'invalid_request_error'],
      [401, 401, 'authentication_error'],
      [402, 402, 'billing_error'],
      [403, 403, 'permission_error'],
      [404, 404, 'not_found_error'],
      [408, 408, 'invalid_request_error'],
      [413, 413, 'request_too_large'],
      [429, 429, 'rate_limit_error'],
      [500, 500, 'api_error'],
      [502, 502, 'api_error'],
      [503, 529, 'overloaded_error'],
      [504, 504, 'timeout_error'],
    ];
    for (const [from, status, type] of table) assert.deepEqual(anthropicStatus(from), { status, type }, String(from));
  });
});
