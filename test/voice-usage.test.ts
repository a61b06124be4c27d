/**
 * Issue 13 §4: a stream that ends early (the caller barges in, the upstream cuts it) is
 * recorded with the upstream's last usage when it sent one, otherwise with Parley's own count
 * (prompt from the request, completion from what was relayed), marked estimated — never with
 * null or zero completion tokens once tokens were relayed.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RelayedStream, relayedText } from '../src/usage/estimate.js';
import { countTokens, estimatePromptTokens } from '../src/usage/tokens.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { memorySink, postJson, sseEvents, startParley, type TestParley } from './helpers/parley.js';
import { checkStream, contentOf } from './helpers/stream-checks.js';

const KEY = 'sk-usage-test';
const auth = { authorization: `Bearer ${KEY}` };
const messages = [
  { role: 'system', content: 'You are a friendly receptionist.' },
  { role: 'user', content: 'Are you open today, and until when?' },
];
const LONG = 'We are open today from nine in the morning until six in the evening, and on Saturdays until noon.';

async function waitFor<T>(what: string, get: () => T | undefined | false, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('usage of streams that end early', () => {
  let up: MockUpstream;
  let p: TestParley;
  let chat: string;
  const sink = memorySink();

  before(async () => {
    up = await startMockUpstream();
    p = await startParley(
      { PARLEY_API_KEYS: KEY },
      {
        providers: { up: { type: 'openai-compatible', baseUrl: up.url } },
        models: { voice: { provider: 'up', model: 'm' } },
      },
      {},
      sink,
    );
    chat = `${p.url}/v1/chat/completions`;
  });
  after(async () => {
    await p.close();
    await up.close();
  });
  afterEach(() => {
    up.received.length = 0;
    sink.records.length = 0;
    up.scenarios.set('*', { kind: 'text' });
  });

  it('barge-in: the caller leaves mid-stream; the record counts the prompt and what was relayed, marked estimated', async () => {
    up.scenarios.set('*', { kind: 'text', text: LONG, delayMs: 40 });
    const ac = new AbortController();
    const res = await fetch(chat, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ model: 'voice', stream: true, messages }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    let got = '';
    while (!got.includes('"content":" nine"')) got += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    const r = await waitFor('the record', () => sink.records[0]);
    assert.equal(r.clientAborted, true);
    assert.equal(r.status, 200);
    assert.equal(r.usageEstimated, true);
    assert.equal(r.promptTokens, estimatePromptTokens({ messages } as never));
    assert.ok((r.completionTokens ?? 0) >= countTokens('We are open today from nine'), `${r.completionTokens}`);
    assert.ok((r.completionTokens ?? 0) < countTokens(LONG), 'only what was relayed is counted');
    assert.equal(r.totalTokens, r.promptTokens! + r.completionTokens!);
    await waitFor('the upstream aborted', () => up.received[0]!.aborted);
  });

  it('an upstream cut mid-stream is counted the same way', async () => {
    up.scenarios.set('*', { kind: 'broken', afterChunks: 4 });
    const res = await postJson(chat, { model: 'voice', stream: true, messages }, auth);
    const events = await sseEvents(res);
    assert.match(events.at(-1)!, /"error"/);
    const r = await waitFor('the record', () => sink.records[0]);
    assert.equal(r.usageEstimated, true);
    assert.equal(r.errorType, 'upstream_error');
    // The role chunk and three words were relayed: "Hello from the".
    assert.equal(r.completionTokens, countTokens('Hello from the'));
    assert.ok((r.promptTokens ?? 0) > 0);
  });

  it('a stream that ends without usage (an upstream that ignores include_usage) is counted, not left null', async () => {
    up.scenarios.set('*', { kind: 'text', omitUsage: true });
    const res = await postJson(chat, { model: 'voice', stream: true, messages }, auth);
    const text = contentOf(checkStream(await sseEvents(res)));
    const r = await waitFor('the record', () => sink.records[0]);
    assert.equal(r.usageEstimated, true);
    assert.equal(r.completionTokens, countTokens(text));
  });

  it('the upstream’s own usage is kept as it is (not estimated)', async () => {
    const res = await postJson(chat, { model: 'voice', stream: true, messages }, auth);
    checkStream(await sseEvents(res));
    const r = await waitFor('the record', () => sink.records[0]);
    assert.equal(r.usageEstimated, false);
    assert.deepEqual([r.promptTokens, r.completionTokens, r.totalTokens], [11, 7, 18]);
  });

  it('a cut stream keeps the upstream’s last cumulative usage when it sent one (Gemini-style)', async () => {
    const chunk = (delta: object, usage?: object) =>
      `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, logprobs: null, finish_reason: null }], ...(usage ? { usage } : {}) })}\n\n`;
    up.scenarios.set('*', {
      kind: 'raw',
      contentType: 'text/event-stream',
      body:
        chunk({ role: 'assistant', content: '' }) +
        chunk({ content: 'Hello' }, { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 }) +
        chunk({ content: ' there' }, { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 }),
    });
    const res = await postJson(chat, { model: 'voice', stream: true, messages }, auth);
    await sseEvents(res);
    const r = await waitFor('the record', () => sink.records[0]);
    assert.equal(r.usageEstimated, false);
    assert.deepEqual([r.promptTokens, r.completionTokens, r.totalTokens], [5, 2, 7]);
  });

  it('counts tool-call names and arguments, and reasoning text, that were relayed', () => {
    const payloads = [
      JSON.stringify({ choices: [{ index: 0, delta: { role: 'assistant', content: null } }] }),
      JSON.stringify({ choices: [{ index: 0, delta: { reasoning_content: 'thinking' } }] }),
      JSON.stringify({
        choices: [
          { index: 0, delta: { tool_calls: [{ index: 0, id: 'c', function: { name: 'book', arguments: '{"d' } }] } },
        ],
      }),
      JSON.stringify({
        choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: 'ay":1}' } }] } }],
      }),
      'not json',
    ];
    assert.equal(relayedText(payloads), 'thinkingbook{"day":1}');
  });

  it('a long stream is counted whole, though only its text is kept past a few hundred chunks', () => {
    const relayed = new RelayedStream();
    assert.equal(relayed.empty, true);
    const words = Array.from({ length: 1300 }, (_, i) => ` word${i % 7}`);
    for (const w of words) relayed.push(JSON.stringify({ choices: [{ index: 0, delta: { content: w } }] }));
    assert.equal(relayed.empty, false);
    const usage = relayed.usage({ messages } as never, null);
    assert.equal(usage.completion_tokens, countTokens(words.join('')));
    assert.equal(usage.prompt_tokens, estimatePromptTokens({ messages } as never));
    // The upstream's own prompt count is kept when it sent one.
    assert.equal(relayed.usage({ messages } as never, { prompt_tokens: 3 }).prompt_tokens, 3);
  });
});
