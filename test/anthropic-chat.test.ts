/**
 * OpenAI clients talking to Claude through Parley, against a mock Anthropic API that speaks the
 * exact wire format and refuses malformed requests. For every answer the non-streamed JSON, the
 * stream and the openai SDK's finalChatCompletion() must agree, and every body and chunk must
 * validate against the official OpenAI schema. The other gateways' bugs are tested by name.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import * as vapi from './fixtures/vapi.js';
import {
  type AnthropicScenario,
  type MockAnthropic,
  type MockBlock,
  startMockAnthropic,
} from './helpers/mock-anthropic.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { assertSpec } from './helpers/openai-spec.js';
import { memorySink, postJson, sseEvents, startParley, type TestParley } from './helpers/parley.js';
import { type Chunk, checkStream } from './helpers/stream-checks.js';

const KEY = 'sk-parley-anthropic';
const ANTHROPIC_KEY = 'sk-ant-mock-key';
const auth = { authorization: `Bearer ${KEY}` };
const MODEL = 'claude-sonnet-4-5';
const messages = [{ role: 'user' as const, content: 'Weather in Paris?' }];
const tools = [
  {
    type: 'function' as const,
    function: {
      name: 'get_weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
  { type: 'function' as const, function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
];

interface Call {
  id: string;
  name: string;
  arguments: string;
}
/** What a client ends up with, however it read the answer. */
interface Seen {
  content: string | null;
  calls: Call[];
  finish: string | null;
  usage: unknown;
}

function fromCompletion(c: OpenAI.ChatCompletion): Seen {
  const m = c.choices[0]!.message;
  return {
    content: m.content || null,
    calls: (m.tool_calls ?? []).map((t) => {
      assert.ok(t.type === 'function');
      return { id: t.id, name: t.function.name, arguments: t.function.arguments };
    }),
    finish: c.choices[0]!.finish_reason,
    usage: c.usage ?? null,
  };
}

function fromChunks(chunks: Chunk[]): Seen {
  let content = '';
  const calls: Call[] = [];
  let finish: string | null = null;
  let usage: unknown = null;
  for (const c of chunks) {
    if (c.usage) usage = c.usage;
    for (const ch of c.choices) {
      content += (ch.delta.content as string | undefined) ?? '';
      for (const t of (ch.delta.tool_calls ?? []) as {
        index: number;
        id?: string;
        function: { name?: string; arguments?: string };
      }[]) {
        if (t.id !== undefined) {
          assert.equal(t.index, calls.length, 'a new call takes the next index (0, 1, 2…)');
          calls.push({ id: t.id, name: t.function.name!, arguments: t.function.arguments ?? '' });
        } else {
          assert.ok(calls[t.index], `arguments for call ${t.index}, which has started`);
          calls[t.index]!.arguments += t.function.arguments ?? '';
        }
      }
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  return { content: content || null, calls, finish, usage };
}

describe('Anthropic behind the OpenAI protocol', () => {
  let claude: MockAnthropic;
  let up: MockUpstream;
  let p: TestParley;
  let client: OpenAI;
  const sink = memorySink();
  before(async () => {
    claude = await startMockAnthropic();
    claude.apiKey = ANTHROPIC_KEY;
    up = await startMockUpstream();
    p = await startParley(
      {
        PARLEY_API_KEYS: KEY,
        ANTHROPIC_API_KEY: ANTHROPIC_KEY,
        ANTHROPIC_BASE_URL: claude.url,
        OPENAI_API_KEY: 'sk-up',
        OPENAI_BASE_URL: up.url,
      },
      {
        providers: {
          'claude-configured': { type: 'anthropic', baseUrl: claude.url, apiKey: ANTHROPIC_KEY, defaultMaxTokens: 321 },
          'claude-wrong-key': { type: 'anthropic', baseUrl: claude.url, apiKey: 'sk-ant-revoked' },
        },
        models: {
          configured: { provider: 'claude-configured', model: 'claude-3-haiku-20240307' },
          'wrong-key': { provider: 'claude-wrong-key', model: MODEL },
          voice: {
            targets: [
              { provider: 'anthropic', model: 'claude-overloaded' },
              { provider: 'openai', model: 'gpt-4o-mini' },
            ],
          },
        },
      },
      {},
      sink,
    );
    client = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: KEY, maxRetries: 0 });
  });
  after(async () => {
    await p.close();
    await claude.close();
    await up.close();
  });
  afterEach(() => {
    claude.scenarios.clear();
    claude.received.length = 0;
    up.received.length = 0;
    sink.records.length = 0;
  });

  const answer = (content: MockBlock[], extra: Partial<Extract<AnthropicScenario, { kind: 'message' }>> = {}) =>
    claude.scenarios.set('*', { kind: 'message', content, ...extra });

  /** The same request three ways; each validated against the spec; all three must agree. */
  async function threeWays(body: Record<string, unknown>): Promise<Seen> {
    const res = await postJson(`${p.url}/v1/chat/completions`, { model: MODEL, messages, ...body }, auth);
    assert.equal(res.status, 200, await res.clone().text());
    const json = (await res.json()) as OpenAI.ChatCompletion;
    assertSpec('CreateChatCompletionResponse', json);
    const streamed = await postJson(
      `${p.url}/v1/chat/completions`,
      { model: MODEL, messages, ...body, stream: true, stream_options: { include_usage: true } },
      auth,
    );
    assert.equal(streamed.status, 200);
    const chunks = checkStream(await sseEvents(streamed), { includeUsage: true });
    const roles = chunks.filter((c) => c.choices[0]?.delta.role !== undefined);
    assert.equal(roles.length, 1, 'the role exactly once, in the first chunk (Portkey#1399)');
    assert.equal(roles[0], chunks[0]);
    const final = await client.chat.completions
      .stream({ model: MODEL, messages, ...body, stream_options: { include_usage: true } } as never)
      .finalChatCompletion();
    const a = fromCompletion(json);
    assert.deepEqual(fromChunks(chunks), a, 'the stream agrees with the JSON answer');
    assert.deepEqual(fromCompletion(final as OpenAI.ChatCompletion), a, 'the SDK’s final completion agrees');
    return a;
  }

  it('text', async () => {
    const seen = await threeWays({});
    assert.deepEqual(seen, {
      content: 'Hello from Claude.',
      calls: [],
      finish: 'stop',
      usage: { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 },
    });
    const sent = claude.received[0]!;
    assert.equal(sent.url, '/v1/messages');
    assert.equal(sent.headers['x-api-key'], ANTHROPIC_KEY);
    assert.equal(sent.headers['anthropic-version'], '2023-06-01');
    assert.match(String(sent.headers['content-type']), /application\/json/);
    assert.deepEqual(sent.body, {
      model: MODEL,
      max_tokens: 8192,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] }],
    });
    assert.equal(claude.received[1]!.body.stream, true);
  });

  it('a tool call after text: index 0 (LiteLLM#5231), id kept, arguments exactly the fragments (Helicone {}{…})', async () => {
    answer([
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: { city: 'Paris' } },
    ]);
    const seen = await threeWays({ tools });
    assert.equal(seen.content, 'Let me check.');
    assert.deepEqual(seen.calls, [{ id: 'toolu_01A', name: 'get_weather', arguments: '{"city":"Paris"}' }]);
    assert.equal(seen.finish, 'tool_calls');
  });

  it('three parallel tool calls after a thinking block: indexes 0, 1, 2 (Portkey#1275), no thinking in content', async () => {
    answer([
      { type: 'thinking', thinking: 'The user wants three cities. I will call the tool three times.' },
      { type: 'tool_use', id: 'toolu_01P', name: 'get_weather', input: { city: 'Paris' } },
      { type: 'tool_use', id: 'toolu_01R', name: 'get_weather', input: { city: 'Rome' } },
      { type: 'tool_use', id: 'toolu_01O', name: 'get_weather', input: { city: 'Oslo' } },
    ]);
    const seen = await threeWays({ tools });
    assert.equal(seen.content, null, 'thinking never reaches content');
    assert.deepEqual(seen.calls, [
      { id: 'toolu_01P', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'toolu_01R', name: 'get_weather', arguments: '{"city":"Rome"}' },
      { id: 'toolu_01O', name: 'get_weather', arguments: '{"city":"Oslo"}' },
    ]);
    assert.equal(seen.finish, 'tool_calls');
  });

  it('a tool with empty input ends as "{}"; redacted thinking is dropped too', async () => {
    answer([{ type: 'redacted_thinking' }, { type: 'tool_use', id: 'toolu_01T', name: 'get_time', input: {} }]);
    const seen = await threeWays({ tools });
    assert.deepEqual(seen.calls, [{ id: 'toolu_01T', name: 'get_time', arguments: '{}' }]);
  });

  it('every stop reason', async () => {
    const cases: [string, string, MockBlock[]][] = [
      ['end_turn', 'stop', [{ type: 'text', text: 'Done.' }]],
      ['stop_sequence', 'stop', [{ type: 'text', text: 'One, two,' }]],
      ['max_tokens', 'length', [{ type: 'text', text: 'This is cut' }]],
      ['tool_use', 'tool_calls', [{ type: 'tool_use', id: 'toolu_01S', name: 'get_time', input: {} }]],
      ['refusal', 'content_filter', [{ type: 'text', text: 'I can’t help with that.' }]],
      ['pause_turn', 'stop', [{ type: 'text', text: 'Searching…' }]],
      ['model_context_window_exceeded', 'length', [{ type: 'text', text: 'Out of room' }]],
      ['some_future_reason', 'stop', [{ type: 'text', text: 'Hm.' }]],
    ];
    for (const [stopReason, finish, content] of cases) {
      answer(content, { stopReason, stopSequence: stopReason === 'stop_sequence' ? 'three' : undefined });
      const seen = await threeWays({ tools });
      assert.equal(seen.finish, finish, `${stopReason} → ${finish}`);
    }
  });

  it('cache token accounting: prompt tokens include cache reads and writes; cached_tokens are the reads', async () => {
    answer([{ type: 'text', text: 'Cached.' }], {
      usage: { input_tokens: 5, cache_creation_input_tokens: 100, cache_read_input_tokens: 1000, output_tokens: 7 },
    });
    const seen = await threeWays({});
    assert.deepEqual(seen.usage, {
      prompt_tokens: 1105,
      completion_tokens: 7,
      total_tokens: 1112,
      prompt_tokens_details: { cached_tokens: 1000 },
    });
    const rec = sink.records.find((r) => r.stream)!;
    assert.deepEqual([rec.provider, rec.upstreamModel], ['anthropic', MODEL]);
    assert.deepEqual([rec.promptTokens, rec.completionTokens, rec.totalTokens], [1105, 7, 1112]);
  });

  it('usage: only in a final choices:[] chunk, and only when include_usage asks; always recorded', async () => {
    const res = await postJson(`${p.url}/v1/chat/completions`, { model: MODEL, messages, stream: true }, auth);
    checkStream(await sseEvents(res), { includeUsage: false });
    const json = await postJson(`${p.url}/v1/chat/completions`, { model: MODEL, messages }, auth);
    assert.equal(json.status, 200);
    await json.text();
    assert.equal(sink.records.length, 2);
    for (const rec of sink.records) {
      assert.equal(rec.provider, 'anthropic');
      assert.equal(rec.status, 200);
      assert.deepEqual([rec.promptTokens, rec.completionTokens, rec.totalTokens], [12, 6, 18]);
    }
  });

  describe('errors before the stream', () => {
    const cases: [string, AnthropicScenario, number, string, new (...a: never[]) => Error][] = [
      [
        '529 overloaded → 503, retry-after kept',
        {
          kind: 'http-error',
          status: 529,
          type: 'overloaded_error',
          message: 'Overloaded',
          headers: { 'retry-after': '7' },
        },
        503,
        'overloaded_error',
        OpenAI.InternalServerError,
      ],
      [
        '429 rate limited, retry-after kept',
        {
          kind: 'http-error',
          status: 429,
          type: 'rate_limit_error',
          message: 'Number of request tokens has exceeded your per-minute rate limit',
          headers: { 'retry-after': '7' },
        },
        429,
        'rate_limit_error',
        OpenAI.RateLimitError,
      ],
      [
        '400 refused, message kept',
        {
          kind: 'http-error',
          status: 400,
          type: 'invalid_request_error',
          message: 'prompt is too long: 210000 tokens',
        },
        400,
        'invalid_request_error',
        OpenAI.BadRequestError,
      ],
    ];
    for (const [what, scenario, status, code, cls] of cases) {
      it(what, async () => {
        claude.scenarios.set('*', scenario);
        for (const stream of [false, true]) {
          const res = await postJson(`${p.url}/v1/chat/completions`, { model: MODEL, messages, stream }, auth);
          assert.equal(res.status, status);
          const body = await res.json();
          assertSpec('ErrorResponse', body);
          assert.equal(body.error.code, code);
          assert.equal(body.error.message, (scenario as { message: string }).message);
          if (status !== 400) assert.equal(res.headers.get('retry-after'), '7');
        }
        await assert.rejects(
          client.chat.completions.stream({ model: MODEL, messages }).finalChatCompletion(),
          (err: unknown) => err instanceof cls && (err as InstanceType<typeof OpenAI.APIError>).status === status,
        );
      });
    }

    it('Anthropic refusing Parley’s key is a 502 naming the provider, never a 401', async () => {
      const res = await postJson(`${p.url}/v1/chat/completions`, { model: 'wrong-key', messages }, auth);
      assert.equal(res.status, 502);
      const body = await res.json();
      assert.equal(body.error.code, 'upstream_auth_failed');
      assert.match(body.error.message, /claude-wrong-key.*authentication_error/);
    });

    it('an `event: error` before message_start is an HTTP error too (503 for overloaded)', async () => {
      claude.scenarios.set('*', { kind: 'stream-error', afterEvents: 0, type: 'overloaded_error' });
      const res = await postJson(`${p.url}/v1/chat/completions`, { model: MODEL, messages, stream: true }, auth);
      assert.equal(res.status, 503);
      assert.equal((await res.json()).error.code, 'overloaded_error');
    });
  });

  it('a mid-stream `event: error` is one in-band error event and no [DONE]; the SDK raises it', async () => {
    answer([{ type: 'text', text: 'One two three four five six' }]);
    claude.scenarios.set('*', {
      kind: 'stream-error',
      afterEvents: 5,
      type: 'overloaded_error',
      message: 'Overloaded',
    });
    const events = await sseEvents(
      await postJson(`${p.url}/v1/chat/completions`, { model: MODEL, messages, stream: true }, auth),
    );
    assert.notEqual(events.at(-1), '[DONE]');
    const last = JSON.parse(events.at(-1)!);
    assert.deepEqual(last, {
      error: { message: 'Overloaded', type: 'service_unavailable', param: null, code: 'overloaded_error' },
    });
    for (const e of events.slice(0, -1)) assertSpec('CreateChatCompletionStreamResponse', JSON.parse(e));
    assert.ok(events.length >= 2, 'the chunks before the error arrived');
    await assert.rejects(
      client.chat.completions.stream({ model: MODEL, messages }).finalChatCompletion(),
      (err: unknown) => err instanceof OpenAI.APIError && /Overloaded/.test((err as Error).message),
    );
    assert.equal(sink.records[0]!.errorType, 'service_unavailable');
  });

  it('a stream cut before message_stop ends with an error event, never a [DONE]', async () => {
    claude.scenarios.set('*', { kind: 'cut', afterEvents: 6 });
    const events = await sseEvents(
      await postJson(`${p.url}/v1/chat/completions`, { model: MODEL, messages, stream: true }, auth),
    );
    assert.notEqual(events.at(-1), '[DONE]');
    assert.ok(JSON.parse(events.at(-1)!).error);
  });

  it('the full request mapping through Parley: what Anthropic receives for a rich OpenAI request', async () => {
    const res = await postJson(
      `${p.url}/v1/chat/completions`,
      {
        model: MODEL,
        messages: [
          { role: 'system', content: 'Be brief.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in this picture, and the weather there?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
              { type: 'image_url', image_url: { url: 'https://example.com/paris.jpg' } },
            ],
          },
          { role: 'developer', content: 'Use metric units.' },
          {
            role: 'assistant',
            content: '',
            tool_calls: [
              { id: 'toolu_A', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
              { id: 'toolu_B', type: 'function', function: { name: 'get_time', arguments: '{}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'toolu_A', content: '18°C' },
          { role: 'tool', tool_call_id: 'toolu_B', content: '14:00' },
        ],
        tools,
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
        parallel_tool_calls: false,
        stop: ['\n\nHuman:'],
        temperature: 1.4,
        top_p: 0.8,
        user: 'end-user-7',
      },
      auth,
    );
    assert.equal(res.status, 200, await res.clone().text());
    await res.text();
    const { model, max_tokens, ...rest } = claude.received[0]!.body;
    assert.deepEqual([model, max_tokens], [MODEL, 8192]);
    assert.deepEqual(rest, {
      system: [
        { type: 'text', text: 'Be brief.' },
        { type: 'text', text: 'Use metric units.' },
      ],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture, and the weather there?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/paris.jpg' } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 'toolu_A', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'toolu_B', name: 'get_time', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_A', content: '18°C' },
            { type: 'tool_result', tool_use_id: 'toolu_B', content: '14:00' },
          ],
        },
      ],
      tools: [
        { name: 'get_weather', input_schema: tools[0]!.function.parameters },
        { name: 'get_time', input_schema: tools[1]!.function.parameters },
      ],
      tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true },
      stop_sequences: ['\n\nHuman:'],
      temperature: 1,
      top_p: 0.8,
      metadata: { user_id: 'end-user-7' },
    });
  });

  it('refuses n > 1 with a 400 naming n, before calling Anthropic', async () => {
    const res = await postJson(`${p.url}/v1/chat/completions`, { model: MODEL, messages, n: 2 }, auth);
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.equal(body.error.param, 'n');
    assert.equal(claude.received.length, 0);
  });

  it('a configured provider: its defaultMaxTokens, and the model behind an alias', async () => {
    const res = await postJson(`${p.url}/v1/chat/completions`, { model: 'configured', messages }, auth);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).model, 'claude-3-haiku-20240307');
    assert.equal(claude.received[0]!.body.max_tokens, 321);
    assert.equal(sink.records[0]!.provider, 'claude-configured');
  });

  it('an alias mixing families: Claude overloaded, then OpenAI answers', async () => {
    claude.scenarios.set('claude-overloaded', { kind: 'http-error', status: 529, type: 'overloaded_error' });
    for (const stream of [false, true]) {
      const res = await postJson(`${p.url}/v1/chat/completions`, { model: 'voice', messages, stream }, auth);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /"model":"gpt-4o-mini"/, 'answered by the OpenAI target');
    }
    assert.equal(claude.received.length, 2);
    assert.equal(up.received.length, 2);
    assert.deepEqual(
      sink.records.map((r) => r.provider),
      ['openai', 'openai'],
    );
  });

  it('the Vapi route through Anthropic: a valid Messages request, streamed back, recorded', async () => {
    answer([{ type: 'text', text: 'It is booked for 19:30.' }]);
    const res = await postJson(
      `${p.url}/chat/completions`,
      { ...vapi.variableRequest, model: MODEL },
      {
        ...auth,
        accept: 'application/json',
      },
    );
    assert.equal(res.status, 200);
    const chunks = checkStream(await sseEvents(res));
    assert.equal(fromChunks(chunks).content, 'It is booked for 19:30.');
    const sent = claude.received[0]!.body;
    for (const field of vapi.vapiOnlyFields) assert.equal(field in sent, false, `${field} must not reach Anthropic`);
    assert.deepEqual(sent.system, [{ type: 'text', text: vapi.messages[0]!.content as string }]);
    assert.deepEqual(
      (sent.messages as { role: string; content: { type: string }[] }[]).map(
        (m) => `${m.role}:${m.content.map((b) => b.type).join('+')}`,
      ),
      ['user:text', 'assistant:text', 'user:text', 'assistant:tool_use', 'user:tool_result+text'],
    );
    assert.equal(sent.max_tokens, 250);
    assert.equal(sent.temperature, 0.5);
    const rec = sink.records[0]!;
    assert.equal(rec.route, 'vapi');
    assert.equal(rec.provider, 'anthropic');
    assert.equal(rec.vapi?.callId, vapi.call.id);
    assert.deepEqual([rec.promptTokens, rec.completionTokens, rec.totalTokens], [12, 6, 18]);
  });
});

describe('ANTHROPIC_API_KEY alone', () => {
  let claude: MockAnthropic;
  let p: TestParley;
  before(async () => {
    claude = await startMockAnthropic();
    p = await startParley({ ANTHROPIC_API_KEY: 'sk-ant-env', ANTHROPIC_BASE_URL: `${claude.url}/` });
  });
  after(async () => {
    await p.close();
    await claude.close();
  });

  it('routes claude-* names to Anthropic without any config file; other names are not found', async () => {
    const res = await postJson(`${p.url}/v1/chat/completions`, { model: 'claude-haiku-4-5', messages });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.choices[0].message.content, 'Hello from Claude.');
    assert.equal(body.model, 'claude-haiku-4-5');
    assert.equal(claude.received[0]!.headers['x-api-key'], 'sk-ant-env');
    assert.equal(claude.received[0]!.url, '/v1/messages');
    const other = await postJson(`${p.url}/v1/chat/completions`, { model: 'gpt-4o', messages });
    assert.equal(other.status, 404);
    await other.text();
  });
});
