/**
 * The bad-upstream suite: an upstream that misbehaves in any way ends that one request
 * cleanly — a 502 (or its own status) before the first byte, one error event after it —
 * and Parley goes on serving. Each test checks what the client got, then that a normal
 * request still succeeds and that nothing escaped as an uncaught exception: in `npm
 * start` that kills the process, while node's test runner would only report it against
 * whichever hook started the server.
 *
 * Everything runs on loopback against the mock upstream; the endless bodies stop at a
 * 1 MiB response cap (and the mock's own limit, should Parley not stop them).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readSettings } from '../src/config/env.js';
import { MAX_JSON_DEPTH } from '../src/protocol/json-depth.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { assertSpec } from './helpers/openai-spec.js';
import { memorySink, postJson, sseEvents, startParley, type TestParley } from './helpers/parley.js';
import { checkStream, contentOf } from './helpers/stream-checks.js';

const KEY = 'sk-parley-test';
const auth = { authorization: `Bearer ${KEY}` };
const messages = [{ role: 'user', content: 'Tell me a joke' }];
const CAP = 1024 * 1024;

/** A chunk as an upstream streams it. */
const sseChunk = (content: string, role?: string) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: role ? { role, content } : { content }, logprobs: null, finish_reason: null }] })}\n\n`;

async function errorOf(
  res: Response,
): Promise<{ message: string; type: string; param: string | null; code: string | null }> {
  const body = await res.json();
  assertSpec('ErrorResponse', body);
  return body.error;
}

describe('a misbehaving upstream ends one request cleanly', () => {
  let up: MockUpstream;
  let p: TestParley;
  let chat: string;
  const sink = memorySink();
  const escaped: unknown[] = [];
  const onEscaped = (err: unknown) => void escaped.push(err);

  before(async () => {
    process.on('uncaughtException', onEscaped);
    process.on('unhandledRejection', onEscaped);
    up = await startMockUpstream();
    p = await startParley(
      {
        OPENAI_API_KEY: 'sk-upstream-secret',
        OPENAI_BASE_URL: up.url,
        PARLEY_API_KEYS: KEY,
        UPSTREAM_MAX_RESPONSE_BYTES: String(CAP),
        UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '10000',
        UPSTREAM_IDLE_TIMEOUT_MS: '10000',
      },
      {
        providers: { mock: { type: 'openai-compatible', baseUrl: up.url } },
        models: {
          'refused-then-good': {
            targets: [
              { provider: 'mock', model: 'refused' },
              { provider: 'mock', model: 'good' },
            ],
          },
          'limited-then-good': {
            targets: [
              { provider: 'mock', model: 'limited' },
              { provider: 'mock', model: 'good' },
            ],
          },
        },
      },
      {},
      sink,
    );
    chat = `${p.url}/v1/chat/completions`;
  });
  after(async () => {
    process.off('uncaughtException', onEscaped);
    process.off('unhandledRejection', onEscaped);
    await p.close();
    await up.close();
  });
  afterEach(() => {
    up.received.length = 0;
    up.scenarios.clear();
    up.scenarios.set('*', { kind: 'text' });
  });

  /** Parley is still up and answering, streamed and not, after whatever the test did. */
  async function assertStillServes(): Promise<void> {
    up.scenarios.clear();
    up.scenarios.set('*', { kind: 'text' });
    const json = await postJson(chat, { model: 'default', messages }, auth);
    assert.equal(json.status, 200, 'a following request succeeds');
    assert.equal((await json.json()).choices[0].message.content, 'Hello from the mock upstream.');
    const chunks = checkStream(
      await sseEvents(await postJson(chat, { model: 'default', messages, stream: true }, auth)),
    );
    assert.equal(contentOf(chunks), 'Hello from the mock upstream.');
    assert.deepEqual(
      escaped.splice(0),
      [],
      'no error escaped as an uncaught exception (it would have ended the process)',
    );
  }

  it('answers 502 when a stream request gets HTTP 200 with a text/plain body (it used to crash the process)', async () => {
    up.scenarios.set('*', { kind: 'raw', contentType: 'text/plain', body: 'Hello, I am not an event stream.' });
    const res = await postJson(chat, { model: 'default', messages, stream: true }, auth);
    assert.equal(res.status, 502);
    const e = await errorOf(res);
    assert.equal(e.code, 'bad_upstream_response');
    assert.match(e.message, /openai.*text\/plain/);
    // Not streamed: the same body is not JSON.
    const json = await postJson(chat, { model: 'default', messages }, auth);
    assert.equal(json.status, 502);
    assert.equal((await errorOf(json)).code, 'bad_upstream_response');
    await assertStillServes();
  });

  it('answers 502 when the upstream sends garbage with an event-stream content type', async () => {
    for (const body of [
      '<html><body>502 Bad Gateway</body></html>\n\nnot sse either\n\n',
      'data: <html>oops</html>\n\ndata: [DONE]\n\n',
    ]) {
      up.scenarios.set('*', { kind: 'raw', contentType: 'text/event-stream', body });
      const res = await postJson(chat, { model: 'default', messages, stream: true }, auth);
      assert.equal(res.status, 502, body);
      assert.equal((await errorOf(res)).code, 'bad_upstream_response');
    }
    await assertStillServes();
  });

  it('ends with one error event when garbage follows good chunks', async () => {
    up.scenarios.set('*', {
      kind: 'raw',
      contentType: 'text/event-stream',
      body: `${sseChunk('', 'assistant')}${sseChunk('Hi')}data: \u0000\u0001garbage\n\ndata: [DONE]\n\n`,
    });
    const events = await sseEvents(await postJson(chat, { model: 'default', messages, stream: true }, auth));
    assert.equal(events.length, 3);
    assert.equal(JSON.parse(events[1]!).choices[0].delta.content, 'Hi');
    const last = JSON.parse(events[2]!);
    assertSpec('ErrorResponse', last);
    assert.equal(last.error.code, 'bad_upstream_response');
    await assertStillServes();
  });

  it('leaves out a malformed usage chunk mid-stream and ends the stream normally with [DONE]', async () => {
    up.scenarios.set('*', { kind: 'malformed-usage', afterChunks: 3 });
    for (const includeUsage of [false, true]) {
      sink.records.length = 0;
      const events = await sseEvents(
        await postJson(
          chat,
          { model: 'default', messages, stream: true, stream_options: { include_usage: includeUsage } },
          auth,
        ),
      );
      const chunks = checkStream(events, { includeUsage });
      assert.equal(contentOf(chunks), 'Hello from the mock upstream.');
      for (let i = 0; i < 20 && sink.records.length === 0; i++) await sleep(10);
      assert.equal(sink.records[0]!.status, 200);
      assert.equal(sink.records[0]!.errorType, null);
    }
    await assertStillServes();
  });

  it('answers 502 when the upstream resets the connection before answering', async () => {
    up.scenarios.set('*', { kind: 'reset', afterChunks: null });
    for (const stream of [false, true]) {
      const res = await postJson(chat, { model: 'default', messages, stream }, auth);
      assert.equal(res.status, 502);
      assert.equal((await errorOf(res)).code, 'upstream_unreachable');
    }
    await assertStillServes();
  });

  it('ends with one error event when the upstream resets the connection after the first chunk', async () => {
    up.scenarios.set('*', { kind: 'reset', afterChunks: 2 });
    const res = await postJson(chat, { model: 'default', messages, stream: true }, auth);
    assert.equal(res.status, 200);
    const events = await sseEvents(res);
    assert.equal(events.length, 3);
    const last = JSON.parse(events[2]!);
    assertSpec('ErrorResponse', last);
    assert.equal(last.error.type, 'upstream_error');
    await assertStillServes();
  });

  it('stops reading an endless JSON body at UPSTREAM_MAX_RESPONSE_BYTES: 502, upstream connection closed', async () => {
    up.scenarios.set('*', { kind: 'endless' });
    const before = up.aborted;
    const res = await postJson(chat, { model: 'default', messages }, auth);
    assert.equal(res.status, 502);
    const e = await errorOf(res);
    assert.equal(e.code, 'upstream_response_too_large');
    assert.match(e.message, new RegExp(`${CAP} bytes`));
    for (let i = 0; i < 100 && up.aborted === before; i++) await sleep(20);
    assert.equal(up.aborted, before + 1, 'Parley hung up on the upstream');
    await assertStillServes();
  });

  it('stops reading an endless stream at UPSTREAM_MAX_RESPONSE_BYTES: one error event, upstream connection closed', async () => {
    up.scenarios.set('*', { kind: 'endless' });
    const before = up.aborted;
    const res = await postJson(chat, { model: 'default', messages, stream: true }, auth);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(text.length <= CAP + 4096, `relayed ${text.length} bytes, at most the cap`);
    const events = text
      .split('\n\n')
      .filter(Boolean)
      .map((e) => e.slice('data: '.length));
    assert.ok(events.length > 2);
    const last = JSON.parse(events.at(-1)!);
    assertSpec('ErrorResponse', last);
    assert.equal(last.error.code, 'upstream_response_too_large');
    assert.equal(events.filter((e) => e.includes('"error"')).length, 1);
    for (let i = 0; i < 100 && up.aborted === before; i++) await sleep(20);
    assert.equal(up.aborted, before + 1, 'Parley hung up on the upstream');
    await assertStillServes();
  });

  for (const status of [401, 403]) {
    it(`answers an upstream ${status} (its key refused) with 502 naming the provider, not as the client's ${status}`, async () => {
      up.scenarios.set('*', {
        kind: 'error',
        status,
        body: JSON.stringify({
          error: {
            message: 'Incorrect API key provided: sk-upst*****cret.',
            type: 'invalid_request_error',
            param: null,
            code: 'invalid_api_key',
          },
        }),
      });
      for (const stream of [false, true]) {
        const res = await postJson(chat, { model: 'default', messages, stream }, auth);
        assert.equal(res.status, 502);
        const e = await errorOf(res);
        assert.equal(e.code, 'upstream_auth_failed');
        assert.equal(e.type, 'upstream_error');
        assert.match(e.message, /Upstream openai refused the credentials/);
        assert.match(e.message, /invalid_api_key/);
        assert.doesNotMatch(e.message, /sk-upst/, 'the upstream message quoting its key is not passed on');
      }
      await assertStillServes();
    });
  }

  it('tries the next target when one refuses its credentials', async () => {
    up.scenarios.set('refused', { kind: 'error', status: 401 });
    const res = await postJson(chat, { model: 'refused-then-good', messages }, auth);
    assert.equal(res.status, 200);
    assert.deepEqual(
      up.received.map((r) => r.body.model),
      ['refused', 'good'],
    );
    await assertStillServes();
  });

  it("forwards an upstream 429's retry-after and x-ratelimit-* headers, stream or not", async () => {
    const headers = {
      'retry-after': '7',
      'retry-after-ms': '6500',
      'x-ratelimit-limit-requests': '500',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '6.5s',
      'x-ratelimit-remaining-tokens': '1200',
    };
    up.scenarios.set('*', { kind: 'error', status: 429, headers });
    for (const stream of [false, true]) {
      const res = await postJson(chat, { model: 'default', messages, stream }, auth);
      assert.equal(res.status, 429);
      for (const [name, value] of Object.entries(headers))
        assert.equal(res.headers.get(name), value, `${name} (stream: ${stream})`);
      assert.equal((await errorOf(res)).message, 'mock upstream error 429', 'the envelope still passes through');
    }
    await assertStillServes();
  });

  it('sends no 429 headers when a later target answers', async () => {
    up.scenarios.set('limited', {
      kind: 'error',
      status: 429,
      headers: { 'retry-after': '7', 'x-ratelimit-remaining-requests': '0' },
    });
    for (const stream of [false, true]) {
      const res = await postJson(chat, { model: 'limited-then-good', messages, stream }, auth);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('retry-after'), null);
      assert.equal(res.headers.get('x-ratelimit-remaining-requests'), null);
      await res.arrayBuffer();
    }
    assert.deepEqual(
      up.received.map((r) => r.body.model),
      ['limited', 'good', 'limited', 'good'],
    );
    await assertStillServes();
  });

  it(`refuses a request nested 5,000 levels deep with a 400 naming the limit and the field, calling no upstream`, async () => {
    const deep = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
    for (const stream of [false, true]) {
      const raw = `{"model":"default","stream":${stream},"messages":[{"role":"user","content":"hi"}],"some_future_param":{"nested":${deep}}}`;
      const res = await postJson(chat, raw, auth);
      assert.equal(res.status, 400);
      const e = await errorOf(res);
      assert.equal(e.type, 'invalid_request_error');
      assert.equal(e.code, 'json_too_deep');
      assert.match(e.message, new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`));
      assert.ok(e.param!.startsWith('some_future_param.nested.[0].[0]'), e.param!);
      assert.equal(e.param!.split('.').length, MAX_JSON_DEPTH, 'the path to the first level past the limit');
    }
    assert.equal(up.received.length, 0, 'no upstream call');
    await assertStillServes();
  });

  it(`passes a body nested exactly ${MAX_JSON_DEPTH} levels deep through`, async () => {
    // The body is level 1, some_future_param level 2: the innermost array is level MAX_JSON_DEPTH.
    const inner = MAX_JSON_DEPTH - 2;
    const raw = `{"model":"default","messages":[{"role":"user","content":"hi"}],"some_future_param":${'['.repeat(inner)}1${']'.repeat(inner)}}`;
    const res = await postJson(chat, raw, auth);
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(up.received[0]!.body.some_future_param, JSON.parse(raw).some_future_param);
  });
});

describe('upstream limits: defaults and documentation', () => {
  it('waits at most two minutes by default for an upstream that never answers, and the README says so', () => {
    const s = readSettings({});
    assert.ok(s.upstreamFirstByteTimeoutMs <= 120_000, `default first-byte timeout ${s.upstreamFirstByteTimeoutMs} ms`);
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const documented = (name: string) => readme.match(new RegExp(`^\\| \`${name}\` \\| \`(\\d+)\``, 'm'))?.[1];
    assert.equal(documented('UPSTREAM_FIRST_BYTE_TIMEOUT_MS'), String(s.upstreamFirstByteTimeoutMs));
    assert.equal(documented('UPSTREAM_IDLE_TIMEOUT_MS'), String(s.upstreamIdleTimeoutMs));
    assert.equal(documented('UPSTREAM_MAX_RESPONSE_BYTES'), String(s.upstreamMaxResponseBytes));
  });
});
