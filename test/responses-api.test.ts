/**
 * The OpenAI Responses API with the official `openai` SDK as client, on every upstream family
 * (a table: the built-in model and the OpenAI-compatible mock now; one more entry per family).
 * Every streamed event and every response validates against the spec's schemas.
 * These suites run without a database (responses kept in memory); responses-store.test.ts runs
 * the stored state on the embedded database.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import type { FileConfig } from '../src/config/file.js';
import type { RequestRecord } from '../src/usage/record.js';
import { type MockAnthropic, startMockAnthropic } from './helpers/mock-anthropic.js';
import { type MockGemini, startMockGemini, usage } from './helpers/mock-gemini.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { assertSpec } from './helpers/openai-spec.js';
import { memorySink, postJson, startParley, type TestParley } from './helpers/parley.js';
import { checkResponse, checkResponseStream, responseEvents } from './helpers/responses-checks.js';

const KEY = 'sk-responses-one';
const OTHER_KEY = 'sk-responses-two';

interface Family {
  name: string;
  /** Starts what the family needs; returns Parley's env and config. */
  start(): Promise<{ env: Record<string, string>; fileConfig?: FileConfig }>;
  /** The upstream answers `text` next (no-op on the built-in model, whose reply is its own). */
  respond(text: string): void;
  /** The upstream calls `name` with these arguments next (the built-in model calls a forced tool by itself). */
  willCall(name: string, args: string): void;
  /** Back to the default answer. */
  reset(): void;
  /** The chat-shaped body the upstream last received (null where the wire is not chat, or there is no upstream). */
  lastChatBody(): Record<string, unknown> | null;
  close(): Promise<void>;
}

function openaiFamily(): Family {
  let mock: MockUpstream;
  return {
    name: 'OpenAI-compatible upstream',
    async start() {
      mock = await startMockUpstream();
      return { env: { OPENAI_API_KEY: 'sk-upstream-secret', OPENAI_BASE_URL: mock.url, DEFAULT_MODEL: 'gpt-4o-mini' } };
    },
    respond: (text) => void mock.scenarios.set('*', { kind: 'text', text }),
    willCall: (name, args) => void mock.scenarios.set('*', { kind: 'tool', name, args }),
    reset() {
      mock.received.length = 0;
      mock.scenarios.clear();
      mock.scenarios.set('*', { kind: 'text' });
    },
    lastChatBody: () => mock.received.at(-1)?.body ?? null,
    close: () => mock.close(),
  };
}

function anthropicFamily(): Family {
  let claude: MockAnthropic;
  return {
    name: 'Anthropic upstream',
    async start() {
      claude = await startMockAnthropic();
      return {
        env: {},
        fileConfig: {
          providers: { claude: { type: 'anthropic', baseUrl: claude.url, apiKey: 'sk-ant-test' } },
          models: { default: { provider: 'claude', model: 'claude-haiku-4-5-20251001' } },
        } as FileConfig,
      };
    },
    respond: (text) => void claude.scenarios.set('*', { kind: 'message', content: [{ type: 'text', text }] }),
    willCall: (name, args) =>
      void claude.scenarios.set('*', {
        kind: 'message',
        content: [{ type: 'tool_use', name, input: JSON.parse(args) }],
        stopReason: 'tool_use',
      }),
    reset() {
      claude.received.length = 0;
      claude.scenarios.clear();
    },
    lastChatBody: () => null,
    close: () => claude.close(),
  };
}

function geminiFamily(): Family {
  let g: MockGemini;
  const answer = (parts: Record<string, unknown>[]) => ({
    kind: 'events' as const,
    events: [
      {
        candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }],
        usageMetadata: usage(12, 6),
      },
    ],
  });
  const initial = () => g.scenarios.set('*', answer([{ text: 'Hello from Gemini.' }]));
  return {
    name: 'Gemini upstream',
    async start() {
      g = await startMockGemini();
      initial();
      return {
        env: {},
        fileConfig: {
          providers: { google: { type: 'gemini', baseUrl: g.url, apiKey: g.apiKey } },
          models: { default: { provider: 'google', model: 'gemini-2.5-flash' } },
        } as FileConfig,
      };
    },
    respond: (text) => void g.scenarios.set('*', answer([{ text }])),
    willCall: (name, args) => void g.scenarios.set('*', answer([{ functionCall: { name, args: JSON.parse(args) } }])),
    reset() {
      g.received.length = 0;
      initial();
    },
    lastChatBody: () => null,
    close: () => g.close(),
  };
}

const builtinFamily = (): Family => ({
  name: 'built-in model',
  start: async () => ({ env: {} }),
  respond() {},
  willCall() {},
  reset() {},
  lastChatBody: () => null,
  close: async () => {},
});

/** One entry per upstream family. */
const FAMILIES: (() => Family)[] = [builtinFamily, openaiFamily, anthropicFamily, geminiFamily];

/** The usage record of the request that made response `id` (written just after the answer). */
async function recordOf(records: RequestRecord[], _id: string): Promise<RequestRecord | undefined> {
  for (let i = 0; i < 100 && !records.some((x) => x.route === 'responses'); i++) await sleep(10);
  return records.find((x) => x.route === 'responses');
}

type ChatMessage = { role: string; content?: unknown; tool_calls?: unknown[]; tool_call_id?: string };

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  },
  strict: true,
};

for (const makeFamily of FAMILIES) {
  const family = makeFamily();
  describe(`Responses API — ${family.name}`, () => {
    let p: TestParley;
    let client: OpenAI;
    let other: OpenAI;
    const usage = memorySink();
    before(async () => {
      const started = await family.start();
      p = await startParley({ ...started.env, PARLEY_API_KEYS: `${KEY},${OTHER_KEY}` }, started.fileConfig, {}, usage);
      client = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: KEY, maxRetries: 0 });
      other = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: OTHER_KEY, maxRetries: 0 });
    });
    after(async () => {
      await p.close();
      await family.close();
    });
    afterEach(() => family.reset());

    it('responses.create answers a response object that validates against the spec', async () => {
      const r = await client.responses.create({ model: 'default', input: 'Tell me a joke', instructions: 'Be brief.' });
      const raw = JSON.parse(JSON.stringify(r));
      delete raw.output_text; // added by the SDK
      checkResponse(raw);
      assert.match(r.id, /^resp_/);
      assert.equal(r.object, 'response');
      assert.equal(r.status, 'completed');
      assert.equal(r.model, 'default');
      assert.equal(r.instructions, 'Be brief.');
      assert.ok(r.output_text.length > 0, 'text came back');
      assert.equal(r.output.length, 1);
      assert.match(r.output[0]!.id!, /^msg_/);
      assert.ok(r.usage && r.usage.input_tokens > 0 && r.usage.output_tokens > 0);
      assert.equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens);
      assert.equal(typeof r.usage.input_tokens_details.cached_tokens, 'number');
      assert.equal(typeof r.usage.output_tokens_details.reasoning_tokens, 'number');
      const sent = family.lastChatBody()?.messages as ChatMessage[] | undefined;
      if (sent) {
        assert.deepEqual(sent, [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Tell me a joke' },
        ]);
      }
    });

    it('responses.create with stream: every event validates, in order, ids stable, one terminal event', async () => {
      const stream = await client.responses.create({ model: 'default', input: 'Tell me a story', stream: true });
      const events: { data: never }[] = [];
      for await (const e of stream) events.push({ data: e as never });
      const response = checkResponseStream(events);
      assert.equal(response.status, 'completed');
      const text = events
        .map((e) => e.data as { type: string; delta?: string })
        .filter((e) => e.type === 'response.output_text.delta')
        .map((e) => e.delta)
        .join('');
      assert.ok(text.length > 0);
      const done = events
        .map((e) => e.data as { type: string; text?: string })
        .find((e) => e.type === 'response.output_text.done');
      assert.equal(done?.text, text, 'output_text.done carries the whole text');
      assert.ok((response as { usage?: unknown }).usage, 'the completed response carries usage');
    });

    it('the raw stream has event: lines matching each type, and no [DONE]', async () => {
      const res = await postJson(`${p.url}/v1/responses`, { model: 'default', input: 'hi', stream: true }, auth(KEY));
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      checkResponseStream(await responseEvents(res));
    });

    it('POST /responses at the root answers the same', async () => {
      const res = await postJson(`${p.url}/responses`, { model: 'default', input: 'hi' }, auth(KEY));
      assert.equal(res.status, 200);
      checkResponse(await res.json());
    });

    it('responses.stream(...).finalResponse() gives the whole response', async () => {
      const deltas: string[] = [];
      const stream = client.responses.stream({ model: 'default', input: 'Say something' });
      stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
      const final = await stream.finalResponse();
      assert.equal(final.status, 'completed');
      assert.equal(final.output_text, deltas.join(''));
      assert.ok(final.output_text.length > 0);
    });

    it('a function call round trip: function_call streamed as its own item, then function_call_output answered', async () => {
      family.willCall('get_weather', '{"city":"Paris"}');
      const stream = await client.responses.create({
        model: 'default',
        input: 'What is the weather in Paris?',
        tools: [weatherTool],
        tool_choice: 'required',
        stream: true,
      });
      const events: { data: never }[] = [];
      for await (const e of stream) events.push({ data: e as never });
      const first = checkResponseStream(events) as unknown as OpenAI.Responses.Response;
      const call = first.output.find((o) => o.type === 'function_call');
      assert.ok(call && call.type === 'function_call', 'a function_call item');
      assert.match(call.id!, /^fc_/);
      assert.equal(call.name, 'get_weather');
      assert.equal(typeof JSON.parse(call.arguments).city, 'string');
      const types = events.map((e) => (e.data as { type: string }).type);
      assert.ok(types.includes('response.function_call_arguments.delta'));
      assert.ok(types.includes('response.function_call_arguments.done'));

      family.respond('It is sunny in Paris.');
      const second = await client.responses.create({
        model: 'default',
        store: false,
        tools: [weatherTool],
        input: [
          { role: 'user', content: 'What is the weather in Paris?' },
          call,
          { type: 'function_call_output', call_id: call.call_id, output: '{"temperature":21}' },
        ],
      });
      checkResponse(JSON.parse(JSON.stringify({ ...second, output_text: undefined })));
      assert.equal(second.status, 'completed');
      assert.ok(second.output_text.length > 0);
      const sent = family.lastChatBody()?.messages as ChatMessage[] | undefined;
      if (sent) {
        assert.equal(second.output_text, 'It is sunny in Paris.');
        assert.deepEqual(
          sent.map((m) => m.role),
          ['user', 'assistant', 'tool'],
        );
        assert.deepEqual(sent[1]!.tool_calls, [
          { id: call.call_id, type: 'function', function: { name: 'get_weather', arguments: call.arguments } },
        ]);
        assert.equal(sent[2]!.tool_call_id, call.call_id);
        assert.equal(sent[2]!.content, '{"temperature":21}');
      }
    });

    it('previous_response_id over three turns: the upstream receives the whole history', async () => {
      const one = await client.responses.create({
        model: 'default',
        input: 'My name is Ada.',
        instructions: 'Be kind.',
      });
      const two = await client.responses.create({
        model: 'default',
        input: 'I like tea.',
        previous_response_id: one.id,
      });
      assert.equal(two.previous_response_id, one.id);
      const three = await client.responses.create({
        model: 'default',
        input: [{ role: 'user', content: 'What is my name?' }],
        previous_response_id: two.id,
      });
      assert.equal(three.status, 'completed');
      const sent = family.lastChatBody()?.messages as ChatMessage[] | undefined;
      if (sent) {
        // The instructions of earlier turns are not carried over (as at OpenAI).
        assert.deepEqual(sent, [
          { role: 'user', content: 'My name is Ada.' },
          { role: 'assistant', content: one.output_text },
          { role: 'user', content: 'I like tea.' },
          { role: 'assistant', content: two.output_text },
          { role: 'user', content: 'What is my name?' },
        ]);
      }
    });

    it('retrieve, input_items (order, after, limit) and delete', async () => {
      const r = await client.responses.create({
        model: 'default',
        input: [
          { role: 'user', content: 'first' },
          { role: 'user', content: [{ type: 'input_text', text: 'second' }] },
          { role: 'user', content: 'third' },
        ],
        metadata: { topic: 'test' },
      });
      const got = await client.responses.retrieve(r.id);
      assert.equal(got.id, r.id);
      assert.deepEqual(got.output, r.output);
      assert.deepEqual(got.metadata, { topic: 'test' });
      const raw = await (await fetch(`${p.url}/v1/responses/${r.id}`, { headers: auth(KEY) })).json();
      checkResponse(raw);

      const page = await client.responses.inputItems.list(r.id, { order: 'asc', limit: 2 });
      assert.equal(page.data.length, 2);
      assert.ok(page.has_more);
      const texts = (items: typeof page.data) =>
        items.map((i) => (i.type === 'message' ? (i.content[0] as { text: string }).text : i.type));
      assert.deepEqual(texts(page.data), ['first', 'second']);
      const all: string[] = [];
      for await (const item of client.responses.inputItems.list(r.id, { order: 'asc', limit: 1 }))
        all.push(...texts([item]));
      assert.deepEqual(all, ['first', 'second', 'third'], 'auto-pagination follows `after`');
      const desc = await client.responses.inputItems.list(r.id);
      assert.deepEqual(texts(desc.data), ['third', 'second', 'first'], 'newest first by default');
      const rawList = await (await fetch(`${p.url}/v1/responses/${r.id}/input_items`, { headers: auth(KEY) })).json();
      assertSpec('ResponseItemList', rawList);

      const deleted = await client.responses.delete(r.id);
      assert.deepEqual(deleted, { id: r.id, object: 'response', deleted: true });
      const res = await fetch(`${p.url}/v1/responses/${r.id}`, { headers: auth(KEY) });
      assert.equal(res.status, 404);
      const body = await res.json();
      assert.equal(body.error.type, 'invalid_request_error');
      assert.match(body.error.message, new RegExp(r.id));
      const again = await fetch(`${p.url}/v1/responses/${r.id}`, { method: 'DELETE', headers: auth(KEY) });
      assert.equal(again.status, 404);
    });

    it("another key cannot see, list, continue or delete a key's response (404)", async () => {
      const r = await client.responses.create({ model: 'default', input: 'private' });
      await assert.rejects(other.responses.retrieve(r.id), (e: unknown) => e instanceof OpenAI.NotFoundError);
      await assert.rejects(other.responses.inputItems.list(r.id), (e: unknown) => e instanceof OpenAI.NotFoundError);
      await assert.rejects(other.responses.delete(r.id), (e: unknown) => e instanceof OpenAI.NotFoundError);
      await assert.rejects(
        other.responses.create({ model: 'default', input: 'and?', previous_response_id: r.id }),
        (e: unknown) => e instanceof OpenAI.NotFoundError && e.param === 'previous_response_id',
      );
      assert.equal((await client.responses.retrieve(r.id)).id, r.id, 'its own key still sees it');
    });

    it('store: false keeps nothing', async () => {
      const r = await client.responses.create({ model: 'default', input: 'forget me', store: false });
      assert.equal((r as { store?: boolean }).store, false);
      await assert.rejects(client.responses.retrieve(r.id), (e: unknown) => e instanceof OpenAI.NotFoundError);
      await assert.rejects(
        client.responses.create({ model: 'default', input: 'next', previous_response_id: r.id }),
        (e: unknown) => e instanceof OpenAI.NotFoundError,
      );
    });

    it('hosted and freeform tools are refused with a 400 naming the tool, never dropped', async () => {
      const before = family.lastChatBody();
      for (const tool of [
        { type: 'web_search' },
        { type: 'file_search', vector_store_ids: ['vs_1'] },
        { type: 'code_interpreter', container: { type: 'auto' } },
        { type: 'computer_use_preview', display_width: 1024, display_height: 768, environment: 'browser' },
        { type: 'custom', name: 'apply_patch', format: { type: 'grammar', syntax: 'lark', definition: 'start: "x"' } },
      ]) {
        const res = await postJson(
          `${p.url}/v1/responses`,
          { model: 'default', input: 'hi', tools: [weatherTool, tool] },
          auth(KEY),
        );
        assert.equal(res.status, 400, tool.type);
        const body = await res.json();
        assertSpec('ErrorResponse', body);
        assert.equal(body.error.type, 'invalid_request_error');
        assert.equal(body.error.param, 'tools[1].type');
        assert.match(body.error.message, new RegExp(`'${tool.type}'`));
      }
      await assert.rejects(
        client.responses.create({ model: 'default', input: 'hi', tools: [{ type: 'web_search' }] }),
        (e: unknown) => e instanceof OpenAI.BadRequestError && /web_search/.test(e.message),
      );
      assert.equal(family.lastChatBody(), before, 'nothing went upstream');
    });

    it("bad requests get 400 in OpenAI's envelope naming the field", async () => {
      const cases: [unknown, string][] = [
        [{ input: 'hi' }, 'model'],
        [{ model: 'default', input: 'hi', temperature: 3 }, 'temperature'],
        [{ model: 'default', input: 'hi', max_output_tokens: 5 }, 'max_output_tokens'],
        [{ model: 'default', input: [{ role: 'robot', content: 'hi' }] }, 'input[0].role'],
        [{ model: 'default', input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input[0].type'],
        [{ model: 'default', input: [{ type: 'function_call_output', output: 'x' }] }, 'input[0].call_id'],
        [{ model: 'default' }, 'input'],
      ];
      for (const [body, param] of cases) {
        const res = await postJson(`${p.url}/v1/responses`, body, auth(KEY));
        assert.equal(res.status, 400, JSON.stringify(body));
        const err = await res.json();
        assertSpec('ErrorResponse', err);
        assert.equal(err.error.param, param, JSON.stringify(err));
      }
      const res = await postJson(`${p.url}/v1/responses`, { model: 'default', input: 'hi' }, auth('wrong'));
      assert.equal(res.status, 401);
      assertSpec('ErrorResponse', await res.json());
    });

    it('a Codex-style request (store false, reasoning, developer message, replayed items) streams a valid answer', async () => {
      const res = await postJson(
        `${p.url}/v1/responses`,
        {
          model: 'default',
          instructions: 'You are a coding agent.',
          input: [
            {
              type: 'message',
              role: 'developer',
              content: [{ type: 'input_text', text: '<permissions>none</permissions>' }],
            },
            { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'List the files.' }] },
            { type: 'reasoning', id: 'rs_1', summary: [], content: null, encrypted_content: 'gAAAA-opaque' },
            { type: 'function_call', id: 'fc_1', call_id: 'call_ls', name: 'shell', arguments: '{"command":["ls"]}' },
            { type: 'function_call_output', call_id: 'call_ls', output: 'README.md\nsrc' },
          ],
          tools: [
            {
              type: 'function',
              name: 'shell',
              description: 'Runs a command',
              strict: false,
              parameters: { type: 'object', properties: { command: { type: 'array', items: { type: 'string' } } } },
            },
          ],
          tool_choice: 'auto',
          parallel_tool_calls: false,
          reasoning: { effort: 'medium', summary: 'auto' },
          store: false,
          stream: true,
          include: ['reasoning.encrypted_content'],
          prompt_cache_key: 'session-1',
          text: { verbosity: 'medium' },
        },
        auth(KEY),
      );
      assert.equal(res.status, 200);
      const response = checkResponseStream(await responseEvents(res));
      assert.equal(response.status, 'completed');
      const sent = family.lastChatBody()?.messages as ChatMessage[] | undefined;
      if (sent) {
        assert.deepEqual(
          sent.map((m) => m.role),
          ['system', 'system', 'user', 'assistant', 'tool'],
        );
        assert.equal(family.lastChatBody()!.reasoning_effort, 'medium');
        assert.equal(family.lastChatBody()!.parallel_tool_calls, false);
      }
    });

    it('is recorded as usage on the route "responses", with its tokens', async () => {
      usage.records.length = 0;
      const r = await client.responses.create({ model: 'default', input: 'Count my tokens' });
      const rec = await recordOf(usage.records, r.id);
      assert.ok(rec, 'one record on the responses route');
      assert.equal(rec.status, 200);
      assert.equal(rec.requestedModel, 'default');
      assert.equal(rec.keyId, 'env:0');
      assert.equal(rec.promptTokens, r.usage!.input_tokens);
      assert.equal(rec.completionTokens, r.usage!.output_tokens);
      assert.equal(rec.totalTokens, r.usage!.total_tokens);
    });
  });
}

describe('Responses API — length and upstream failures', () => {
  let p: TestParley;
  let mock: MockUpstream;
  let client: OpenAI;
  const usage = memorySink();
  before(async () => {
    mock = await startMockUpstream();
    p = await startParley(
      { PARLEY_API_KEYS: KEY },
      {
        providers: { mock: { type: 'openai-compatible', baseUrl: mock.url, apiKey: 'sk-upstream' } },
        models: { upstream: { provider: 'mock', model: 'gpt-4o-mini' } },
      },
      {},
      usage,
    );
    client = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: KEY, maxRetries: 0 });
  });
  after(async () => {
    await p.close();
    await mock.close();
  });

  it('a client that leaves mid-stream aborts the upstream and is recorded as a client abort', async () => {
    mock.scenarios.set('*', { kind: 'text', text: 'one two three four five six seven eight nine ten', delayMs: 100 });
    const aborted = mock.aborted;
    const ac = new AbortController();
    const res = await fetch(`${p.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth(KEY) },
      body: JSON.stringify({ model: 'upstream', input: 'count', stream: true }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /^event: response\.created/);
    ac.abort();
    for (let i = 0; i < 200 && mock.aborted === aborted; i++) await sleep(10);
    assert.equal(mock.aborted, aborted + 1, 'the upstream request was aborted');
    for (let i = 0; i < 200 && !usage.records.some((r) => r.clientAborted); i++) await sleep(10);
    const rec = usage.records.find((r) => r.clientAborted);
    assert.equal(rec?.route, 'responses');
    // What was streamed before the client left is counted (Parley's tokenizer), never recorded as zero.
    assert.equal(rec?.usageEstimated, true);
    assert.ok((rec?.completionTokens ?? 0) > 0, `completion tokens ${rec?.completionTokens}`);
    mock.scenarios.set('*', { kind: 'text' });
  });

  it('max_output_tokens reached: response.incomplete with incomplete_details, JSON and stream', async () => {
    const input = 'Please repeat all of this back to me, every word of it, slowly and carefully, twice over.';
    const r = await client.responses.create({ model: 'default', input, max_output_tokens: 16 });
    assert.equal(r.status, 'incomplete');
    assert.deepEqual(r.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(r.usage?.output_tokens, 16);
    checkResponse(JSON.parse(JSON.stringify({ ...r, output_text: undefined })));
    const res = await postJson(
      `${p.url}/v1/responses`,
      { model: 'default', input, max_output_tokens: 16, stream: true },
      auth(KEY),
    );
    const events = await responseEvents(res);
    const last = checkResponseStream<{
      status: string;
      incomplete_details: unknown;
      output: { status: string }[];
    }>(events);
    assert.equal(events.at(-1)!.data.type, 'response.incomplete');
    assert.equal(last.status, 'incomplete');
    assert.deepEqual(last.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(last.output[0]!.status, 'incomplete');
  });

  it("an upstream error before the stream: an HTTP error in OpenAI's envelope, nothing stored", async () => {
    mock.scenarios.set('*', { kind: 'error', status: 500 });
    const res = await postJson(`${p.url}/v1/responses`, { model: 'upstream', input: 'hi', stream: true }, auth(KEY));
    assert.equal(res.status, 500, "the upstream's status, as on the chat route");
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = await res.json();
    assertSpec('ErrorResponse', body);
    await assert.rejects(
      client.responses.create({ model: 'upstream', input: 'hi' }),
      (e: unknown) => e instanceof OpenAI.APIError && e.status === 500,
    );
    mock.scenarios.set('*', { kind: 'text' });
  });

  it('an upstream error during the stream: response.failed with the whole response, then an `error` event', async () => {
    mock.scenarios.set('*', { kind: 'midstream-error', afterChunks: 3 });
    const res = await postJson(`${p.url}/v1/responses`, { model: 'upstream', input: 'hi', stream: true }, auth(KEY));
    assert.equal(res.status, 200);
    const events = await responseEvents(res);
    const failed = checkResponseStream<{
      id: string;
      status: string;
      error: { code: string; message: string };
    }>(events);
    assert.deepEqual(
      events.slice(-2).map((e) => e.data.type),
      ['response.failed', 'error'],
    );
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'server_error');
    assert.match(failed.error.message, /mock upstream error 500/);
    assert.match(String(events.at(-1)!.data.message), /mock upstream error 500/);
    const stored = await client.responses.retrieve(failed.id);
    assert.equal(stored.status, 'failed', 'a failed response is kept too, as at OpenAI');

    // The SDK's stream helper sees response.failed, then raises the error.
    const stream = client.responses.stream({ model: 'upstream', input: 'hi' });
    const seen: string[] = [];
    stream.on('event', (e) => seen.push(e.type));
    await assert.rejects(stream.finalResponse(), (e: { message?: string }) =>
      /mock upstream error 500/.test(e.message ?? ''),
    );
    assert.ok(seen.includes('response.failed'), seen.join(', '));
    mock.scenarios.set('*', { kind: 'text' });
  });
});

describe('Responses API — open mode (no keys)', () => {
  let p: TestParley;
  let client: OpenAI;
  before(async () => {
    p = await startParley();
    client = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: 'anything', maxRetries: 0 });
  });
  after(() => p.close());

  it('every local client is the one principal "open": a response is found again whatever key is sent', async () => {
    const r = await client.responses.create({ model: 'default', input: 'hello' });
    const another = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: 'something-else', maxRetries: 0 });
    assert.equal((await another.responses.retrieve(r.id)).id, r.id);
    const next = await another.responses.create({ model: 'default', input: 'again', previous_response_id: r.id });
    assert.equal(next.previous_response_id, r.id);
  });

  it("an unknown previous_response_id is a 404 in OpenAI's shape naming the parameter", async () => {
    const res = await postJson(`${p.url}/v1/responses`, {
      model: 'default',
      input: 'x',
      previous_response_id: 'resp_nope',
    });
    assert.equal(res.status, 404);
    const body = await res.json();
    assertSpec('ErrorResponse', body);
    assert.equal(body.error.param, 'previous_response_id');
    assert.equal(body.error.code, 'previous_response_not_found');
    assert.match(body.error.message, /resp_nope/);
    const list = await fetch(`${p.url}/v1/responses/resp_nope/input_items`);
    assert.equal(list.status, 404);
    assertSpec('ErrorResponse', await list.json());
  });
});
