/**
 * Issue 13 §3: a first-token deadline and hedging, per alias. Mock upstreams that send their
 * headers and role chunk at once and the first token late (as a thinking model does), or
 * stall. What is asserted is order, aborts and records, with only generous time bounds.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FileConfig } from '../src/config/file.js';
import { isFirstToken } from '../src/pipeline/attempts.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { memorySink, postJson, sseEvents, startParley, type TestParley } from './helpers/parley.js';
import { checkStream, contentOf } from './helpers/stream-checks.js';

const KEY = 'sk-voice-test';
const auth = { authorization: `Bearer ${KEY}` };
const messages = [{ role: 'user', content: 'Are you open today?' }];
const FAST_TEXT = 'Hello from the mock upstream.';
const FALLBACK = 'Sorry, one moment please.';

/** Polls until `pred` holds (the record is written once the response has ended). */
async function waitFor<T>(what: string, get: () => T | undefined | false, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('what counts as the first token', () => {
  const chunk = (delta: object, finish: string | null = null, extra: object = {}) =>
    JSON.stringify({
      id: 'c',
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...extra,
    });
  it('content, a tool call, a refusal or a finish — not a role, an empty content, reasoning or usage', () => {
    assert.equal(isFirstToken(chunk({ role: 'assistant', content: '' })), false);
    assert.equal(isFirstToken(chunk({ role: 'assistant', content: null })), false);
    assert.equal(isFirstToken(chunk({ reasoning_content: 'hmm', content: null })), false);
    assert.equal(isFirstToken(JSON.stringify({ id: 'c', choices: [], usage: { prompt_tokens: 1 } })), false);
    assert.equal(isFirstToken(chunk({ content: 'Hi' })), true);
    assert.equal(
      isFirstToken(chunk({ tool_calls: [{ index: 0, id: 'x', function: { name: 'f', arguments: '' } }] })),
      true,
    );
    assert.equal(isFirstToken(chunk({ refusal: 'No.' })), true);
    assert.equal(isFirstToken(chunk({}, 'stop')), true);
    // Whatever is not an ordinary chunk goes to the writer, which handles it as without a deadline.
    assert.equal(isFirstToken('{"error":{"message":"x"}}'), true);
    assert.equal(isFirstToken('[DONE]'), true);
    assert.equal(isFirstToken('{"content":"x", not json'), true);
  });
});

describe('first-token deadline and hedging', () => {
  let up: MockUpstream;
  let p: TestParley;
  let chat: string;
  const sink = memorySink();

  before(async () => {
    up = await startMockUpstream();
    const target = (provider: string, model: string) => ({ provider, model });
    const config: FileConfig = {
      providers: {
        a: { type: 'openai-compatible', baseUrl: up.url },
        b: { type: 'openai-compatible', baseUrl: up.url },
      },
      models: {
        deadline: { targets: [target('a', 'slow'), target('b', 'fast')], firstTokenTimeoutMs: 300 },
        allslow: {
          targets: [target('a', 'slow'), target('b', 'slow')],
          firstTokenTimeoutMs: 200,
          fallbackReply: FALLBACK,
        },
        'allslow-nofallback': { targets: [target('a', 'slow'), target('b', 'slow')], firstTokenTimeoutMs: 200 },
        hedged: { targets: [target('a', 'slow'), target('b', 'fast')], hedgeAfterMs: 150 },
        'hedged-first-wins': { targets: [target('a', 'medium'), target('b', 'slow')], hedgeAfterMs: 100 },
        'hedged-quick': { targets: [target('a', 'fast'), target('b', 'fast')], hedgeAfterMs: 400 },
        committed: { targets: [target('a', 'token-then-stall'), target('b', 'fast')], firstTokenTimeoutMs: 300 },
        refused: { targets: [target('a', 'bad'), target('b', 'fast')], firstTokenTimeoutMs: 300 },
        failing: { targets: [target('a', 'down'), target('b', 'fast')], firstTokenTimeoutMs: 300 },
        plain: { targets: [target('a', 'down'), target('b', 'fast')] },
      },
    };
    p = await startParley({ PARLEY_API_KEYS: KEY }, config, {}, sink);
    chat = `${p.url}/v1/chat/completions`;
  });
  after(async () => {
    await p.close();
    await up.close();
  });
  afterEach(() => {
    up.received.length = 0;
    sink.records.length = 0;
  });
  const scenarios = () => {
    up.scenarios.clear();
    up.scenarios.set('*', { kind: 'text' });
    up.scenarios.set('fast', { kind: 'text' });
    // Headers and the role chunk at once, the first token much later: a model still thinking.
    up.scenarios.set('slow', { kind: 'text', firstTokenDelayMs: 30_000 });
    up.scenarios.set('medium', { kind: 'text', firstTokenDelayMs: 300 });
    // The role chunk and one word, then nothing.
    up.scenarios.set('token-then-stall', { kind: 'stall', afterChunks: 2 });
    up.scenarios.set('bad', { kind: 'error', status: 400 });
    up.scenarios.set('down', { kind: 'error', status: 503 });
  };
  before(scenarios);

  it('moves to the next target when the first token does not come in time (a role chunk is no token), and aborts the slow one', async () => {
    const res = await postJson(chat, { model: 'deadline', stream: true, messages }, auth);
    assert.equal(res.status, 200);
    const chunks = checkStream(await sseEvents(res));
    assert.equal(contentOf(chunks), FAST_TEXT);
    assert.deepEqual(
      up.received.map((r) => r.body.model),
      ['slow', 'fast'],
    );
    await waitFor('the slow attempt aborted', () => up.received[0]!.aborted);
    assert.equal(up.received[1]!.aborted, undefined, 'the answering attempt ran to its end');
    const r = await waitFor('the record', () => sink.records[0]);
    assert.equal(r.status, 200);
    assert.equal(r.provider, 'b');
    assert.equal(r.upstreamModel, 'fast');
    assert.equal(r.fallback, false);
    assert.deepEqual(
      r.attempts?.map((a) => [a.provider, a.model, a.outcome, a.status, a.code]),
      [
        ['a', 'slow', 'timeout', 504, 'first_token_timeout'],
        ['b', 'fast', 'answered', undefined, undefined],
      ],
    );
    assert.ok(
      r.attempts![1]!.startMs >= 250,
      `the second attempt started after the deadline: ${r.attempts![1]!.startMs}`,
    );
  });

  it('bounds a JSON answer as a whole', async () => {
    const res = await postJson(chat, { model: 'deadline', messages }, auth);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.choices[0].message.content, FAST_TEXT);
    const r = await waitFor('the record', () => sink.records[0]);
    assert.deepEqual(
      r.attempts?.map((a) => a.outcome),
      ['timeout', 'answered'],
    );
    await waitFor('the slow attempt aborted', () => up.received[0]!.aborted);
  });

  it('serves the fallback reply when every target is slow, and aborts them all', async () => {
    const res = await postJson(chat, { model: 'allslow', stream: true, messages }, auth);
    assert.equal(res.status, 200);
    assert.equal(contentOf(checkStream(await sseEvents(res))), FALLBACK);
    await waitFor('both attempts aborted', () => up.received.length === 2 && up.received.every((r) => r.aborted));
    const r = await waitFor('the record', () => sink.records[0]);
    assert.equal(r.fallback, true);
    assert.equal(r.errorType, 'timeout_error');
    assert.deepEqual(
      r.attempts?.map((a) => [a.provider, a.outcome]),
      [
        ['a', 'timeout'],
        ['b', 'timeout'],
      ],
    );
  });

  it('without a fallback reply, answers 504 first_token_timeout in OpenAI’s envelope', async () => {
    const res = await postJson(chat, { model: 'allslow-nofallback', stream: true, messages }, auth);
    assert.equal(res.status, 504);
    const body = await res.json();
    assert.equal(body.error.code, 'first_token_timeout');
    assert.equal(body.error.type, 'timeout_error');
    assert.match(body.error.message, /no first token within 200 ms/);
  });

  it('hedges: the next target starts after hedgeAfterMs, the first token wins, and the slow one is aborted at once', async () => {
    const t0 = performance.now();
    const res = await postJson(chat, { model: 'hedged', stream: true, messages }, auth);
    assert.equal(res.status, 200);
    const chunks = checkStream(await sseEvents(res));
    const elapsed = performance.now() - t0;
    assert.equal(contentOf(chunks), FAST_TEXT);
    // The slow target would take 30 s: the answer came from the hedge (a generous bound).
    assert.ok(elapsed < 10_000, `answered in ${elapsed} ms`);
    assert.deepEqual(
      up.received.map((r) => r.body.model),
      ['slow', 'fast'],
    );
    assert.ok(
      up.received[1]!.at! - up.received[0]!.at! >= 100,
      `the hedge started after the delay: ${up.received[1]!.at! - up.received[0]!.at!} ms`,
    );
    await waitFor('the slow attempt aborted', () => up.received[0]!.aborted);
    const r = await waitFor('the record', () => sink.records[0]);
    assert.equal(r.provider, 'b');
    assert.deepEqual(
      r.attempts?.map((a) => [a.provider, a.outcome]),
      [
        ['a', 'lost'],
        ['b', 'answered'],
      ],
    );
    assert.ok(r.attempts![1]!.startMs >= 140, `hedge started at ${r.attempts![1]!.startMs} ms`);
  });

  it('hedges: when the first target still answers first, the hedge is the one aborted', async () => {
    const res = await postJson(chat, { model: 'hedged-first-wins', stream: true, messages }, auth);
    assert.equal(contentOf(checkStream(await sseEvents(res))), FAST_TEXT);
    assert.deepEqual(
      up.received.map((r) => r.body.model),
      ['medium', 'slow'],
    );
    await waitFor('the hedge aborted', () => up.received[1]!.aborted);
    assert.equal(up.received[0]!.aborted, undefined);
    const r = await waitFor('the record', () => sink.records[0]);
    assert.equal(r.upstreamModel, 'medium');
    assert.deepEqual(
      r.attempts?.map((a) => [a.model, a.outcome]),
      [
        ['medium', 'answered'],
        ['slow', 'lost'],
      ],
    );
  });

  it('does not hedge a target that answers before hedgeAfterMs', async () => {
    const res = await postJson(chat, { model: 'hedged-quick', stream: true, messages }, auth);
    assert.equal(contentOf(checkStream(await sseEvents(res))), FAST_TEXT);
    await sleep(500);
    assert.equal(up.received.length, 1);
    const r = await waitFor('the record', () => sink.records[0]);
    assert.deepEqual(
      r.attempts?.map((a) => a.outcome),
      ['answered'],
    );
  });

  it('never switches once the first token has gone to the client, even when the stream then stalls', async () => {
    const res = await postJson(chat, { model: 'committed', stream: true, messages }, auth);
    // Read what comes, then leave (a caller's barge-in) well after the deadline.
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /"content":"Hello"/);
    await sleep(800);
    await reader.cancel();
    const r = await waitFor('the record', () => sink.records[0]);
    assert.deepEqual(
      up.received.map((x) => x.body.model),
      ['token-then-stall'],
      'the second target was never asked',
    );
    assert.equal(r.status, 200);
    assert.equal(r.clientAborted, true);
    assert.deepEqual(
      r.attempts?.map((a) => a.outcome),
      ['answered'],
    );
    // Barge-in: what was relayed is counted.
    assert.equal(r.usageEstimated, true);
    assert.ok((r.completionTokens ?? 0) > 0, `completion tokens: ${r.completionTokens}`);
    await waitFor('the upstream aborted', () => up.received[0]!.aborted);
  });

  it('moves on from a failing target, and stops at a refused request (4xx) as without a deadline', async () => {
    const ok = await postJson(chat, { model: 'failing', stream: true, messages }, auth);
    assert.equal(contentOf(checkStream(await sseEvents(ok))), FAST_TEXT);
    const r1 = await waitFor('the record', () => sink.records[0]);
    assert.deepEqual(
      r1.attempts?.map((a) => [a.outcome, a.status]),
      [
        ['failed', 503],
        ['answered', undefined],
      ],
    );
    sink.records.length = 0;
    up.received.length = 0;
    const refused = await postJson(chat, { model: 'refused', stream: true, messages }, auth);
    assert.equal(refused.status, 400);
    assert.equal(up.received.length, 1);
    const r2 = await waitFor('the record', () => sink.records[0]);
    assert.deepEqual(
      r2.attempts?.map((a) => [a.outcome, a.status]),
      [['failed', 400]],
    );
  });

  it('a client that leaves while the targets race aborts every attempt and is recorded as such', async () => {
    const ac = new AbortController();
    const pending = fetch(chat, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ model: 'hedged', stream: true, messages: [{ role: 'user', content: 'x' }] }),
      signal: ac.signal,
    }).catch(() => null);
    up.scenarios.set('fast', { kind: 'text', firstTokenDelayMs: 30_000 });
    try {
      await waitFor('both attempts started', () => up.received.length === 2);
      ac.abort();
      await pending;
      await waitFor('both attempts aborted', () => up.received.every((r) => r.aborted));
      const r = await waitFor('the record', () => sink.records[0]);
      assert.equal(r.clientAborted, true);
      assert.equal(r.status, 499);
      assert.deepEqual(
        r.attempts?.map((a) => a.outcome),
        ['cancelled', 'cancelled'],
      );
    } finally {
      scenarios();
    }
  });

  it('aliases without these settings keep their plain failover, and record its attempts too', async () => {
    const res = await postJson(chat, { model: 'plain', stream: true, messages }, auth);
    assert.equal(contentOf(checkStream(await sseEvents(res))), FAST_TEXT);
    const r = await waitFor('the record', () => sink.records[0]);
    assert.deepEqual(
      r.attempts?.map((a) => [a.provider, a.outcome, a.status]),
      [
        ['a', 'failed', 503],
        ['b', 'answered', undefined],
      ],
    );
  });
});
