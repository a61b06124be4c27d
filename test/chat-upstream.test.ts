/** Parley in front of an OpenAI-compatible upstream (a local mock speaking the exact wire format). */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { assertSpec } from './helpers/openai-spec.js';
import { postJson, sseEvents, startParley, type TestParley } from './helpers/parley.js';
import { checkStream, contentOf } from './helpers/stream-checks.js';

const KEY = 'sk-parley-test';
const auth = { authorization: `Bearer ${KEY}` };
const messages = [{ role: 'user', content: 'Tell me a joke' }];

describe('OpenAI-compatible upstream', () => {
  let up: MockUpstream;
  let p: TestParley;
  let chat: string;
  before(async () => {
    up = await startMockUpstream();
    p = await startParley({
      OPENAI_API_KEY: 'sk-upstream-secret',
      OPENAI_BASE_URL: up.url,
      DEFAULT_MODEL: 'gpt-4o-mini',
      PARLEY_API_KEYS: KEY,
    });
    chat = `${p.url}/v1/chat/completions`;
  });
  after(async () => {
    await p.close();
    await up.close();
  });
  afterEach(() => {
    up.received.length = 0;
    up.scenarios.clear();
    up.scenarios.set('*', { kind: 'text' });
  });

  it('routes default to DEFAULT_MODEL with the upstream key, never the client key', async () => {
    const res = await postJson(chat, { model: 'default', messages }, auth);
    assert.equal(res.status, 200);
    const body = await res.json();
    assertSpec('CreateChatCompletionResponse', body);
    assert.equal(body.choices[0].message.content, 'Hello from the mock upstream.');
    const got = up.received[0]!;
    assert.equal(got.url, '/v1/chat/completions');
    assert.equal(got.body.model, 'gpt-4o-mini');
    assert.equal(got.headers.authorization, 'Bearer sk-upstream-secret');
  });

  it('relays the upstream JSON byte for byte', async () => {
    // Not what JSON.stringify would write: spaces, escapes, key order, a trailing newline.
    // A body parsed and stringified again would differ in every one of them.
    const raw =
      '{ "id" : "chatcmpl-raw1", "object":"chat.completion", "created":1700000000, "model":"gpt-4o-mini",\n  "choices":[{"index":0,"message":{"role":"assistant","content":"caf\\u00e9 \\/ \\"ok\\"","refusal":null},"logprobs":null,"finish_reason":"stop"}],\n  "usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}, "system_fingerprint":"fp_mock" }\n';
    up.scenarios.set('*', { kind: 'raw', contentType: 'application/json', body: raw });
    const res = await postJson(chat, { model: 'default', messages }, auth);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.from(raw));
  });

  it('passes model names it does not know through to the default upstream (gpt-3.5-turbo)', async () => {
    const res = await postJson(chat, { model: 'gpt-3.5-turbo', messages }, auth);
    assert.equal(res.status, 200);
    assert.equal(up.received[0]!.body.model, 'gpt-3.5-turbo');
  });

  it('forwards every OpenAI field, and fields the spec does not define, unchanged (but for both token limits at once)', async () => {
    const request = {
      model: 'default',
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'developer', content: [{ type: 'text', text: 'dev' }] },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'look' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } },
          ],
          name: 'ann',
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"ok":true}' },
        { role: 'function', name: 'f', content: 'legacy' },
      ],
      temperature: 0.2,
      top_p: 0.9,
      n: 1,
      stop: ['END'],
      max_tokens: 50,
      max_completion_tokens: 60,
      presence_penalty: 0.1,
      frequency_penalty: 0.1,
      logit_bias: { '50256': -100 },
      logprobs: true,
      top_logprobs: 2,
      seed: 42,
      user: 'u-1',
      tools: [
        {
          type: 'function',
          function: { name: 'f', description: 'd', parameters: { type: 'object', properties: {} }, strict: false },
        },
      ],
      tool_choice: 'auto',
      parallel_tool_calls: false,
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' }, strict: true } },
      metadata: { a: 'b' },
      store: false,
      service_tier: 'auto',
      reasoning_effort: 'low',
      some_future_param: { nested: [1, 2] },
    };
    const res = await postJson(chat, request, auth);
    assert.equal(res.status, 200, await res.clone().text());
    // OpenAI refuses max_tokens and max_completion_tokens together: one goes, with the smaller value (voice/platforms/normalise.ts).
    const { max_tokens: _legacy, ...sent } = request;
    assert.deepEqual(up.received[0]!.body, { ...sent, max_completion_tokens: 50, model: 'gpt-4o-mini' });
  });

  it('asks the upstream for usage on streams and drops that chunk when the client did not ask', async () => {
    const events = await sseEvents(await postJson(chat, { model: 'default', messages, stream: true }, auth));
    const chunks = checkStream(events);
    assert.equal(contentOf(chunks), 'Hello from the mock upstream.');
    assert.deepEqual(up.received[0]!.body.stream_options, { include_usage: true });
  });

  it('keeps the usage chunk when the client asked for it', async () => {
    const events = await sseEvents(
      await postJson(chat, { model: 'default', messages, stream: true, stream_options: { include_usage: true } }, auth),
    );
    const chunks = checkStream(events, { includeUsage: true });
    assert.deepEqual(chunks.at(-1)!.usage, { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
  });

  it('relays stream chunks without re-serializing them', async () => {
    // Payloads no serializer would write (spaces, escapes, odd key order); none carries usage,
    // so none needs parsing. Each must reach the client as the same bytes.
    const payloads = [
      '{ "id":"chatcmpl-raw2", "object" : "chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}] }',
      '{"choices":[ {"index":0, "delta":{"content":"caf\\u00e9 \\/ \\"x\\""},"logprobs":null,"finish_reason":null} ],"id":"chatcmpl-raw2","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini"}',
      '{"id":"chatcmpl-raw2","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]   }',
    ];
    up.scenarios.set('*', {
      kind: 'raw',
      contentType: 'text/event-stream',
      body: `${payloads.map((p) => `data: ${p}\n\n`).join('')}data: [DONE]\n\n`,
    });
    const res = await postJson(chat, { model: 'default', messages, stream: true }, auth);
    assert.equal(res.status, 200);
    assert.deepEqual(await sseEvents(res), [...payloads, '[DONE]']);
  });

  it('relays streamed tool calls and n > 1', async () => {
    up.scenarios.set('*', { kind: 'tool', name: 'get_weather', args: '{"city":"Paris"}' });
    const chunks = checkStream(
      await sseEvents(await postJson(chat, { model: 'default', messages, stream: true }, auth)),
    );
    const args = chunks
      .flatMap((c) =>
        c.choices.flatMap((ch) =>
          ((ch.delta.tool_calls as { function: { arguments?: string } }[]) ?? []).map(
            (t) => t.function.arguments ?? '',
          ),
        ),
      )
      .join('');
    assert.equal(args, '{"city":"Paris"}');
    up.scenarios.set('*', { kind: 'text' });
    checkStream(await sseEvents(await postJson(chat, { model: 'default', messages, stream: true, n: 2 }, auth)), {
      n: 2,
    });
  });

  it('streams when body.stream is true whatever the Accept header says', async () => {
    const res = await postJson(
      chat,
      { model: 'default', messages, stream: true },
      { ...auth, accept: 'application/json' },
    );
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    checkStream(await sseEvents(res));
  });

  // 401 and 403 are the upstream refusing Parley's own key: a 502 (test/bad-upstream.test.ts).
  for (const status of [400, 404, 429, 500, 503]) {
    it(`passes an upstream ${status} through with its body`, async () => {
      up.scenarios.set('*', { kind: 'error', status });
      for (const stream of [false, true]) {
        const res = await postJson(chat, { model: 'default', messages, stream }, auth);
        assert.equal(res.status, status);
        const body = await res.json();
        assertSpec('ErrorResponse', body);
        assert.equal(body.error.message, `mock upstream error ${status}`);
      }
    });
  }

  it('passes the upstream error envelope through verbatim, stream or not', async () => {
    const body =
      '{"error":{"message":"Rate limit reached for gpt-4o","type":"requests","param":null,"code":"rate_limit_exceeded","retry_after_ms":120}}';
    up.scenarios.set('*', { kind: 'error', status: 429, body });
    for (const stream of [false, true]) {
      const res = await postJson(chat, { model: 'default', messages, stream }, auth);
      assert.equal(res.status, 429);
      assert.equal(await res.text(), body);
    }
  });

  it('wraps a non-JSON upstream error body in the envelope', async () => {
    up.scenarios.set('*', { kind: 'error', status: 502, body: '<html>Bad gateway</html>' });
    const res = await postJson(chat, { model: 'default', messages }, auth);
    assert.equal(res.status, 502);
    const body = await res.json();
    assertSpec('ErrorResponse', body);
    assert.match(body.error.message, /Bad gateway/);
  });

  it('ends a broken stream with one error event and no [DONE]', async () => {
    up.scenarios.set('*', { kind: 'broken', afterChunks: 3 });
    const events = await sseEvents(await postJson(chat, { model: 'default', messages, stream: true }, auth));
    assert.notEqual(events.at(-1), '[DONE]');
    const last = JSON.parse(events.at(-1)!);
    assertSpec('ErrorResponse', last);
    assert.equal(events.filter((e) => e.includes('"error"')).length, 1);
  });

  it('passes an upstream mid-stream error event on and ends without [DONE]', async () => {
    up.scenarios.set('*', { kind: 'midstream-error', afterChunks: 2 });
    const events = await sseEvents(await postJson(chat, { model: 'default', messages, stream: true }, auth));
    assert.equal(events.length, 3);
    assert.equal(JSON.parse(events[2]!).error.message, 'mock upstream error 500');
  });

  it('aborts the upstream request as soon as the client disconnects', async () => {
    up.scenarios.set('*', { kind: 'text', text: 'a b c d e f g h i j k l m n o p', delayMs: 100 });
    const res = await postJson(chat, { model: 'default', messages, stream: true }, auth);
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    for (let i = 0; i < 50 && up.aborted === 0; i++) await sleep(20);
    assert.equal(up.aborted, 1, 'the upstream saw its request closed early');
  });
});

describe('upstream failures and timeouts', () => {
  it('answers 502 when the upstream is unreachable', async () => {
    const p = await startParley({ OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' });
    try {
      for (const stream of [false, true]) {
        const res = await postJson(`${p.url}/v1/chat/completions`, { model: 'default', messages, stream });
        assert.equal(res.status, 502);
        const body = await res.json();
        assertSpec('ErrorResponse', body);
        assert.equal(body.error.code, 'upstream_unreachable');
        assert.doesNotMatch(JSON.stringify(body), /127\.0\.0\.1:9/, 'no upstream address leaks');
      }
    } finally {
      await p.close();
    }
  });

  it('answers 504 when the upstream does not answer within the first-byte timeout, and ends a stalled stream with an error event', async () => {
    const up = await startMockUpstream();
    const p = await startParley({
      OPENAI_API_KEY: 'k',
      OPENAI_BASE_URL: up.url,
      UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '200',
      UPSTREAM_IDLE_TIMEOUT_MS: '200',
    });
    try {
      up.scenarios.set('*', { kind: 'hang' });
      const res = await postJson(`${p.url}/v1/chat/completions`, { model: 'default', messages, stream: true });
      assert.equal(res.status, 504);
      assert.equal((await res.json()).error.code, 'upstream_timeout');

      up.scenarios.set('*', { kind: 'stall', afterChunks: 2 });
      const events = await sseEvents(
        await postJson(`${p.url}/v1/chat/completions`, { model: 'default', messages, stream: true }),
      );
      assert.equal(events.length, 3);
      assert.equal(JSON.parse(events[2]!).error.code, 'upstream_idle_timeout');
    } finally {
      await p.close();
      await up.close();
    }
  });

  it('tries the next target when one fails before its first byte', async () => {
    const up = await startMockUpstream();
    up.scenarios.set('broken-model', { kind: 'error', status: 503 });
    const p = await startParley(
      {},
      {
        providers: {
          a: { type: 'openai-compatible', baseUrl: up.url },
          dead: { type: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1' },
        },
        models: {
          smart: {
            targets: [
              { provider: 'dead', model: 'x' },
              { provider: 'a', model: 'broken-model' },
              { provider: 'a', model: 'good-model' },
            ],
          },
        },
      },
    );
    try {
      const res = await postJson(`${p.url}/v1/chat/completions`, { model: 'smart', messages });
      assert.equal(res.status, 200);
      assert.deepEqual(
        up.received.map((r) => r.body.model),
        ['broken-model', 'good-model'],
      );
      const models = await (await fetch(`${p.url}/v1/models`)).json();
      assert.deepEqual(models.data.map((m: { id: string }) => m.id).sort(), ['default', 'smart']);
    } finally {
      await p.close();
      await up.close();
    }
  });
});
