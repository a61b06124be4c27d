/**
 * Gemini's answers through Parley, each asked as JSON, as a stream and through the openai
 * SDK's stream helper, which must agree and validate against the OpenAI spec: text, tool
 * calls (after text, parallel one per event and several in one event), STOP after a call,
 * safety and length finishes, thought parts, cumulative usage; then the failures.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { type MockGemini, startMockGemini, text, usage } from './helpers/mock-gemini.js';
import { assertSpec } from './helpers/openai-spec.js';
import { postJson, sseEvents, startParley, type TestParley } from './helpers/parley.js';
import { threeWays } from './helpers/three-ways.js';

const KEY = 'sk-gemini-answers';
const messages = [{ role: 'user', content: 'Weather in Paris and Rome?' }];
const tools = [
  {
    type: 'function',
    function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
  },
  { type: 'function', function: { name: 'now' } },
];
const call = (name: string, args?: Record<string, unknown>, thoughtSignature?: string) => ({
  functionCall: { name, ...(args ? { args } : {}) },
  ...(thoughtSignature ? { thoughtSignature } : {}),
});
const event = (parts: unknown[], over: Record<string, unknown> = {}, candidate: Record<string, unknown> = {}) => ({
  candidates: [{ content: { role: 'model', parts }, index: 0, ...candidate }],
  ...over,
});

describe('Gemini answers as OpenAI completions', () => {
  let g: MockGemini;
  let p: TestParley;
  const ask = (model: string, extra: Record<string, unknown> = {}) =>
    threeWays(p.url, KEY, { model, messages, tools, ...extra });
  before(async () => {
    g = await startMockGemini();
    p = await startParley({ PARLEY_API_KEYS: KEY, GEMINI_API_KEY: g.apiKey, GEMINI_BASE_URL: g.url });
  });
  after(async () => {
    await p.close();
    await g.close();
  });

  it('text, usage cumulative on every event counted once', async () => {
    g.scenarios.set('gemini-text', {
      kind: 'events',
      events: [
        text('Hel', {}),
        { ...text('lo'), usageMetadata: usage(12, 2) },
        { ...text(' there.', { finishReason: 'STOP' }), usageMetadata: usage(12, 4) },
      ],
    });
    const { json, chunks } = await ask('gemini-text');
    assert.equal(json.choices[0]!.message.content, 'Hello there.');
    assert.equal(json.choices[0]!.finish_reason, 'stop');
    assert.deepEqual(json.usage, { prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 });
    assert.equal(json.model, 'gemini-text');
    assert.equal(chunks.filter((c) => c.usage).length, 1);
  });

  it('a tool call after text: finish tool_calls although Gemini says STOP, signature carried', async () => {
    g.scenarios.set('gemini-tool', {
      kind: 'events',
      events: [
        text('Let me check. '),
        event(
          [call('get_weather', { city: 'Paris' }, 'sig-after-text')],
          { usageMetadata: usage(20, 8) },
          { finishReason: 'STOP' },
        ),
      ],
    });
    const { json, stream } = await ask('gemini-tool');
    const m = json.choices[0]!.message as {
      content: string;
      tool_calls: { id: string; function: { arguments: string }; extra_content: unknown }[];
    };
    assert.equal(m.content, 'Let me check. ');
    assert.equal(json.choices[0]!.finish_reason, 'tool_calls');
    assert.match(m.tool_calls[0]!.id, /^call_[A-Za-z0-9]{24}$/);
    assert.deepEqual(JSON.parse(m.tool_calls[0]!.function.arguments), { city: 'Paris' });
    assert.deepEqual(m.tool_calls[0]!.extra_content, { google: { thought_signature: 'sig-after-text' } });
    assert.deepEqual(stream.indexes, [0]);
  });

  it('STOP in a content-less event after the calls still ends tool_calls (LiteLLM#21041)', async () => {
    g.scenarios.set('gemini-stop-after', {
      kind: 'events',
      events: [event([call('now')]), event([], { usageMetadata: usage(5, 1) }, { finishReason: 'STOP' })],
    });
    const { json, stream } = await ask('gemini-stop-after');
    assert.equal(json.choices[0]!.finish_reason, 'tool_calls');
    assert.equal(stream.toolCalls[0]!.arguments, '{}', 'a call without args ends as {}');
  });

  it('parallel calls one per event get indexes 0..n-1 (Portkey#1275)', async () => {
    g.scenarios.set('gemini-parallel-events', {
      kind: 'events',
      events: [
        event([{ text: 'planning', thought: true }, call('get_weather', { city: 'Paris' }, 'sig-p1')]),
        event([call('get_weather', { city: 'Rome' })]),
        event([call('now')], { usageMetadata: usage(30, 15) }, { finishReason: 'STOP' }),
      ],
    });
    const { json, stream } = await ask('gemini-parallel-events');
    assert.deepEqual(stream.indexes, [0, 1, 2]);
    assert.deepEqual(
      stream.toolCalls.map((c) => [c.name, JSON.parse(c.arguments)]),
      [
        ['get_weather', { city: 'Paris' }],
        ['get_weather', { city: 'Rome' }],
        ['now', {}],
      ],
    );
    assert.equal(new Set(stream.ids).size, 3, 'every call has its own id');
    assert.equal(json.choices[0]!.message.content, null, 'no text, no thought: content null');
  });

  it('parallel calls several in one event get indexes 0..n-1', async () => {
    g.scenarios.set('gemini-parallel-one', {
      kind: 'events',
      events: [
        event(
          [call('get_weather', { city: 'Paris' }, 'sig-one'), call('get_weather', { city: 'Rome' }), call('now')],
          { usageMetadata: usage(30, 15) },
          { finishReason: 'STOP' },
        ),
      ],
    });
    const { stream } = await ask('gemini-parallel-one');
    assert.deepEqual(stream.indexes, [0, 1, 2]);
    assert.deepEqual(stream.toolCalls[0]!.extra_content, { google: { thought_signature: 'sig-one' } });
    assert.equal(stream.toolCalls[1]!.extra_content, undefined, 'only a signed call carries a signature');
  });

  it('a safety finish is content_filter', async () => {
    g.scenarios.set('gemini-safety', {
      kind: 'events',
      events: [text('Here is how'), event([], { usageMetadata: usage(9, 3) }, { finishReason: 'SAFETY' })],
    });
    const { json } = await ask('gemini-safety');
    assert.equal(json.choices[0]!.finish_reason, 'content_filter');
    assert.equal(json.choices[0]!.message.content, 'Here is how');
  });

  it('a blocked prompt (promptFeedback.blockReason, no candidate) is an empty content_filter answer', async () => {
    g.scenarios.set('gemini-blocked', {
      kind: 'events',
      events: [{ promptFeedback: { blockReason: 'PROHIBITED_CONTENT' }, usageMetadata: usage(7, 0) }],
    });
    const { json } = await ask('gemini-blocked');
    assert.equal(json.choices[0]!.finish_reason, 'content_filter');
    assert.equal(json.choices[0]!.message.content, '');
  });

  it('MAX_TOKENS is length', async () => {
    g.scenarios.set('gemini-max', {
      kind: 'events',
      events: [{ ...text('Once upon a', { finishReason: 'MAX_TOKENS' }), usageMetadata: usage(4, 3) }],
    });
    const { json } = await ask('gemini-max', { max_tokens: 3 });
    assert.equal(json.choices[0]!.finish_reason, 'length');
  });

  it('thought parts never reach content; cached and thinking tokens are counted as OpenAI counts them', async () => {
    const u = (c: number) => usage(100, c, { cachedContentTokenCount: 60, thoughtsTokenCount: 50 });
    g.scenarios.set('gemini-thinking', {
      kind: 'events',
      events: [
        event([{ text: 'Let me think about the user…', thought: true }], { usageMetadata: u(0) }),
        event([{ text: 'The answer is 42.' }], { usageMetadata: u(6) }, { finishReason: 'STOP' }),
      ],
    });
    const { json } = await ask('gemini-thinking');
    assert.equal(json.choices[0]!.message.content, 'The answer is 42.');
    assert.deepEqual(json.usage, {
      prompt_tokens: 100,
      completion_tokens: 56,
      total_tokens: 156,
      prompt_tokens_details: { cached_tokens: 60 },
      completion_tokens_details: { reasoning_tokens: 50 },
    });
  });

  it('the key goes in x-goog-api-key, never in the URL; streams ask for alt=sse', async () => {
    const last = g.received.at(-1)!;
    assert.equal(last.headers['x-goog-api-key'], g.apiKey);
    assert.doesNotMatch(last.url, /key=/);
    assert.ok(g.received.some((r) => r.stream && r.url.endsWith(':streamGenerateContent?alt=sse')));
    assert.ok(g.received.some((r) => !r.stream && r.url.endsWith(':generateContent')));
  });

  describe('failures', () => {
    const headers = { authorization: `Bearer ${KEY}` };
    const post = (model: string, stream = false) =>
      postJson(`${p.url}/v1/chat/completions`, { model, messages, stream }, headers);

    it('an error body in the middle of the stream: one in-band error event, no [DONE]; the SDK throws', async () => {
      g.scenarios.set('gemini-midstream', {
        kind: 'midstream-error',
        events: [text('Partial ')],
        error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' },
      });
      const res = await post('gemini-midstream', true);
      assert.equal(res.status, 200);
      const events = await sseEvents(res);
      assert.notEqual(events.at(-1), '[DONE]');
      const last = JSON.parse(events.at(-1)!) as { error: { message: string; code: string } };
      assert.match(last.error.message, /overloaded/);
      assert.equal(last.error.code, 'UNAVAILABLE');
      for (const e of events.slice(0, -1)) assertSpec('CreateChatCompletionStreamResponse', JSON.parse(e));
      const client = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: KEY, maxRetries: 0 });
      await assert.rejects(
        client.chat.completions
          .stream({ model: 'gemini-midstream', messages: messages as never })
          .finalChatCompletion(),
        (e: Error) => e instanceof OpenAI.APIError && /overloaded/.test(e.message),
      );
    });

    it("an error body as the stream's first event is an HTTP error with its status, nothing streamed", async () => {
      g.scenarios.set('gemini-first-error', {
        kind: 'midstream-error',
        events: [],
        error: { code: 429, message: 'Resource has been exhausted.', status: 'RESOURCE_EXHAUSTED' },
      });
      const res = await post('gemini-first-error', true);
      assert.equal(res.status, 429);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'RESOURCE_EXHAUSTED');
    });

    it('a cut connection mid-stream: one in-band error event, no [DONE]', async () => {
      g.scenarios.set('gemini-cut', { kind: 'cut', events: [text('Partial ')] });
      const events = await sseEvents(await post('gemini-cut', true));
      assert.notEqual(events.at(-1), '[DONE]');
      assert.ok((JSON.parse(events.at(-1)!) as { error?: unknown }).error);
      const json = await post('gemini-cut');
      assert.equal(json.status, 502);
    });

    it('429 before the stream: status kept, OpenAI envelope, retry-after from the header or RetryInfo', async () => {
      g.scenarios.set('gemini-429', {
        kind: 'error',
        status: 429,
        body: JSON.stringify({
          error: {
            code: 429,
            message: 'You exceeded your current quota.',
            status: 'RESOURCE_EXHAUSTED',
            details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '37s' }],
          },
        }),
      });
      for (const stream of [false, true]) {
        const res = await post('gemini-429', stream);
        assert.equal(res.status, 429);
        assert.equal(res.headers.get('retry-after'), '37');
        const body = (await res.json()) as { error: Record<string, unknown> };
        assert.deepEqual(body, {
          error: {
            message: 'You exceeded your current quota.',
            type: 'rate_limit_error',
            param: null,
            code: 'RESOURCE_EXHAUSTED',
          },
        });
      }
      g.scenarios.set('gemini-429h', {
        kind: 'error',
        status: 429,
        googleStatus: 'RESOURCE_EXHAUSTED',
        headers: { 'retry-after': '5' },
      });
      const res = await post('gemini-429h');
      assert.equal(res.headers.get('retry-after'), '5');
      const client = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: KEY, maxRetries: 0 });
      await assert.rejects(
        client.chat.completions.create({ model: 'gemini-429', messages: messages as never }),
        OpenAI.RateLimitError,
      );
    });

    it('400 before the stream: the status and Google message in OpenAI envelope', async () => {
      // A real refusal of the mock: a model turn whose function call has a corrupted signature.
      const res = await postJson(
        `${p.url}/v1/chat/completions`,
        {
          model: 'gemini-3-pro-preview',
          stream: true,
          messages: [
            { role: 'user', content: 'hi' },
            {
              role: 'assistant',
              tool_calls: [
                {
                  id: 'c1',
                  type: 'function',
                  function: { name: 'now', arguments: '{}' },
                  extra_content: { google: { thought_signature: 'forged' } },
                },
              ],
            },
            { role: 'tool', tool_call_id: 'c1', content: '12:00' },
          ],
        },
        headers,
      );
      assert.equal(res.status, 400);
      const body = (await res.json()) as { error: Record<string, unknown> };
      assert.equal(body.error.type, 'invalid_request_error');
      assert.equal(body.error.code, 'INVALID_ARGUMENT');
      assert.match(String(body.error.message), /Corrupted thought signature/);
    });

    it('503 is passed on and retryable; a body that is not Google JSON keeps its status', async () => {
      g.scenarios.set('gemini-503', { kind: 'error', status: 503, googleStatus: 'UNAVAILABLE' });
      const res = await post('gemini-503');
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'UNAVAILABLE');
      g.scenarios.set('gemini-html', { kind: 'error', status: 500, body: '<html>oops</html>' });
      assert.equal((await post('gemini-html')).status, 500);
    });
  });
});

describe('Gemini refusing Parley’s own key', () => {
  it('403 (no key) and 400 API_KEY_INVALID (wrong key) become 502 upstream_auth_failed', async () => {
    const g = await startMockGemini();
    const wrong = await startParley({ PARLEY_API_KEYS: KEY, GEMINI_API_KEY: 'not-the-key', GEMINI_BASE_URL: g.url });
    const none = await startParley(
      { PARLEY_API_KEYS: KEY },
      { providers: { gem: { type: 'gemini', baseUrl: g.url } }, defaultProvider: 'gem' },
    );
    try {
      for (const [p, upstream] of [
        [wrong, 'API_KEY_INVALID'],
        [none, 'PERMISSION_DENIED'],
      ] as const) {
        for (const stream of [false, true]) {
          const res = await postJson(
            `${p.url}/v1/chat/completions`,
            { model: 'gemini-2.5-flash', messages, stream },
            { authorization: `Bearer ${KEY}` },
          );
          assert.equal(res.status, 502);
          const body = (await res.json()) as { error: { code: string; message: string } };
          assert.equal(body.error.code, 'upstream_auth_failed');
          assert.match(body.error.message, new RegExp(upstream));
          assert.doesNotMatch(body.error.message, /not-the-key/);
        }
      }
    } finally {
      await wrong.close();
      await none.close();
      await g.close();
    }
  });
});

describe('Gemini unreachable', () => {
  it('is a 502 upstream_unreachable before the stream, JSON or streamed', async () => {
    const p = await startParley(
      { PARLEY_API_KEYS: KEY },
      { providers: { gem: { type: 'gemini', baseUrl: 'http://127.0.0.1:9', apiKey: 'k' } }, defaultProvider: 'gem' },
    );
    try {
      for (const stream of [false, true]) {
        const res = await postJson(
          `${p.url}/v1/chat/completions`,
          { model: 'gemini-2.5-flash', messages, stream },
          { authorization: `Bearer ${KEY}` },
        );
        assert.equal(res.status, 502);
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'upstream_unreachable');
      }
    } finally {
      await p.close();
    }
  });
});
