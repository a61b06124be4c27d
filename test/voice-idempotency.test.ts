/** Idempotency-Key (Cartesia's retries): one upstream call per key, every request with the key gets its full answer. */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Answer } from '../src/pipeline/chat.js';
import { newContext } from '../src/pipeline/context.js';
import { IdempotencyCache, MAX_REPLAY_BYTES } from '../src/voice/idempotency/cache.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { memorySink, postJson, sseEvents, startParley, type TestParley } from './helpers/parley.js';
import { checkStream, contentOf } from './helpers/stream-checks.js';

const KEY = 'cartesia-key';
const OTHER_KEY = 'another-tenant-key';
const TEXT = 'Thanks for calling, your order ships on Friday and arrives Monday.';
const body = {
  model: 'gpt-4o-mini',
  stream: true,
  messages: [{ role: 'user', content: 'When does my order ship?' }],
};
const headers = (idem: string, key = KEY) => ({
  authorization: `Bearer ${key}`,
  'idempotency-key': idem,
  'user-agent': 'Cartesia-Agents/1.0',
});

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await sleep(10);
  assert.ok(cond(), what);
}

describe('Idempotency-Key on /chat/completions', () => {
  let up: MockUpstream;
  let p: TestParley;
  const sink = memorySink();
  before(async () => {
    up = await startMockUpstream();
    p = await startParley(
      { PARLEY_API_KEYS: `${KEY},${OTHER_KEY}`, OPENAI_API_KEY: 'sk-up', OPENAI_BASE_URL: up.url },
      undefined,
      {},
      sink,
    );
  });
  after(async () => {
    await p.close();
    await up.close();
  });
  afterEach(() => {
    up.received.length = 0;
    sink.records.length = 0;
    up.scenarios.clear();
    up.scenarios.set('*', { kind: 'text', text: TEXT, delayMs: 25 });
  });

  it('two concurrent requests with one key: the upstream sees one, both clients get the same full answer', async () => {
    up.scenarios.set('*', { kind: 'text', text: TEXT, delayMs: 25 });
    const first = postJson(`${p.url}/chat/completions`, body, headers('idem-concurrent'));
    await until(() => up.received.length === 1, 'the first request reached the upstream');
    await sleep(60); // the first is mid-stream when the retry arrives
    const second = postJson(`${p.url}/chat/completions`, body, headers('idem-concurrent'));
    const [a, b] = await Promise.all([first.then(sseEvents), second.then(sseEvents)]);
    assert.equal(contentOf(checkStream(a)), TEXT);
    assert.deepEqual(b, a, 'the retry replays what was sent so far, then follows live: the same events');
    assert.equal(up.received.length, 1, 'one upstream call');
    await until(() => sink.records.length === 2, 'both recorded');
    const [orig, replay] = [...sink.records].sort((x, y) => Number(x.replayOf !== null) - Number(y.replayOf !== null));
    assert.equal(orig!.replayOf, null);
    assert.equal(orig!.completionTokens, 7);
    assert.equal(replay!.replayOf, orig!.requestId);
    assert.equal(replay!.completionTokens, 0, 'a replay spent no upstream tokens');
    assert.equal(replay!.status, 200);

    // Later, within the window: answered from the kept result.
    const third = await sseEvents(await postJson(`${p.url}/chat/completions`, body, headers('idem-concurrent')));
    assert.deepEqual(third, a);
    assert.equal(up.received.length, 1);
  });

  it('a JSON answer is replayed byte for byte', async () => {
    const json = { ...body, stream: false };
    const a = await (await postJson(`${p.url}/v1/chat/completions`, json, headers('idem-json'))).text();
    const b = await (await postJson(`${p.url}/v1/chat/completions`, json, headers('idem-json'))).text();
    assert.equal(b, a);
    assert.equal(JSON.parse(a).object, 'chat.completion');
    assert.equal(up.received.length, 1);
  });

  it('the same key with another body is refused (422); another API key with the same key is another request', async () => {
    await (await postJson(`${p.url}/chat/completions`, body, headers('idem-reuse'))).text();
    const changed = { ...body, messages: [{ role: 'user', content: 'Something else' }] };
    const res = await postJson(`${p.url}/chat/completions`, changed, headers('idem-reuse'));
    assert.equal(res.status, 422);
    assert.equal((await res.json()).error.code, 'idempotency_key_reused');
    const other = await postJson(`${p.url}/chat/completions`, body, headers('idem-reuse', OTHER_KEY));
    assert.equal(contentOf(checkStream(await sseEvents(other))), TEXT);
    assert.equal(up.received.length, 2);
  });

  it('refuses a malformed key with 400 in OpenAI’s envelope', async () => {
    const res = await postJson(`${p.url}/chat/completions`, body, headers('x'.repeat(256)));
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.code, 'invalid_idempotency_key');
    assert.equal(up.received.length, 0);
  });

  it('the first client leaving does not cut the answer a retry is following', async () => {
    const abortedBefore = up.aborted;
    const ac = new AbortController();
    const first = await fetch(`${p.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers('idem-leave') },
      body: JSON.stringify(body),
      signal: ac.signal,
    });
    await first.body!.getReader().read(); // the stream has started
    // Its headers come with the first replayed chunk: once they are here, the retry is following.
    const second = await postJson(`${p.url}/chat/completions`, body, headers('idem-leave'));
    ac.abort();
    assert.equal(contentOf(checkStream(await sseEvents(second))), TEXT);
    assert.equal(up.received.length, 1);
    assert.equal(up.aborted, abortedBefore, 'the upstream ran to the end');
  });

  it('when every client leaves, the upstream is aborted and a retry runs anew', async () => {
    const abortedBefore = up.aborted;
    const ac = new AbortController();
    const res = await fetch(`${p.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers('idem-gone') },
      body: JSON.stringify(body),
      signal: ac.signal,
    });
    await res.body!.getReader().read();
    ac.abort();
    await until(() => up.aborted === abortedBefore + 1, 'the upstream request was aborted');
    const retry = await postJson(`${p.url}/chat/completions`, body, headers('idem-gone'));
    assert.equal(contentOf(checkStream(await sseEvents(retry))), TEXT);
    assert.equal(up.received.length, 2, 'nothing whole to replay: the retry reached the upstream');
  });

  it('a failed answer is not kept: the retry reaches the upstream', async () => {
    up.scenarios.set('*', { kind: 'error', status: 503 });
    assert.equal((await postJson(`${p.url}/chat/completions`, body, headers('idem-fail'))).status, 503);
    up.scenarios.set('*', { kind: 'text', text: TEXT });
    const retry = await postJson(`${p.url}/chat/completions`, body, headers('idem-fail'));
    assert.equal(contentOf(checkStream(await sseEvents(retry))), TEXT);
    assert.equal(up.received.length, 2);
  });
});

describe('IdempotencyCache bounds', () => {
  const ctx = (id: string) => newContext(id, 'openai', 0, { keyId: 'env:0' });
  const json = (bytes: number): Answer => ({ kind: 'json', body: 'x'.repeat(bytes) });
  const calls: string[] = [];
  const runner = (id: string, answer: Answer) => async () => {
    calls.push(id);
    return answer;
  };
  const signal = new AbortController().signal;

  it('forgets a key after the window', async () => {
    let now = 0;
    calls.length = 0;
    const cache = new IdempotencyCache({ windowMs: 1000, maxBytes: 1 << 20, now: () => now });
    const h = { 'idempotency-key': 'k' };
    await cache.answer(h, {}, ctx('a'), signal, runner('a', json(10)));
    now = 999;
    await cache.answer(h, {}, ctx('b'), signal, runner('b', json(10)));
    now = 1000;
    await cache.answer(h, {}, ctx('c'), signal, runner('c', json(10)));
    assert.deepEqual(calls, ['a', 'c']);
  });

  it(`keeps answers up to ${MAX_REPLAY_BYTES / 1024} KiB; a larger one is answered but not kept`, async () => {
    calls.length = 0;
    const cache = new IdempotencyCache({ windowMs: 60_000, maxBytes: 16 << 20 });
    for (const id of ['a', 'b']) {
      await cache.answer({ 'idempotency-key': 'big' }, {}, ctx(id), signal, runner(id, json(MAX_REPLAY_BYTES + 1)));
      await cache.answer(
        { 'idempotency-key': 'fits' },
        {},
        ctx(id),
        signal,
        runner(`${id}-fits`, json(MAX_REPLAY_BYTES)),
      );
    }
    assert.deepEqual(calls, ['a', 'a-fits', 'b']);
  });

  it('holds at most maxBytes, dropping the oldest answers first', async () => {
    calls.length = 0;
    const cache = new IdempotencyCache({ windowMs: 60_000, maxBytes: 1 << 20 });
    for (let i = 0; i < 8; i++)
      await cache.answer({ 'idempotency-key': `k${i}` }, {}, ctx(`r${i}`), signal, runner(`r${i}`, json(200_000)));
    assert.ok(cache.size.bytes <= 1 << 20, `${cache.size.bytes} bytes kept`);
    assert.ok(cache.size.entries < 8);
    await cache.answer({ 'idempotency-key': 'k7' }, {}, ctx('again7'), signal, runner('again7', json(1)));
    await cache.answer({ 'idempotency-key': 'k0' }, {}, ctx('again0'), signal, runner('again0', json(1)));
    assert.deepEqual(calls.slice(8), ['again0'], 'the newest is kept, the oldest was dropped');
  });
});
