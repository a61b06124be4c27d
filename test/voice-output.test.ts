/**
 * Issue 13 §5: voice-aware output, opt-in per alias — `stripThink` (`<think>…</think>`, even
 * split across chunks, and reasoning fields never reach the client), `flushMarker` (Vapi's
 * `<flush />` after the first sentence) and a default `reasoningEffort`.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SettingsError } from '../src/config/env.js';
import { parseFileConfig } from '../src/config/file.js';
import { FlushMarker, ThinkFilter } from '../src/pipeline/voice-output.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { memorySink, postJson, sseEvents, startParley, type TestParley } from './helpers/parley.js';
import { checkStream, contentOf } from './helpers/stream-checks.js';

const KEY = 'sk-output-test';
const auth = { authorization: `Bearer ${KEY}` };
const messages = [{ role: 'user', content: 'Are you open today?' }];
const THINKING =
  '<think>The user asks about opening hours. I should answer briefly.</think>\n\nYes, we are open. Until six tonight!';
const SPOKEN = 'Yes, we are open. Until six tonight!';

async function waitFor<T>(what: string, get: () => T | undefined, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function filtered(pieces: string[]): string {
  const f = new ThinkFilter();
  return pieces.map((p) => f.push(p)).join('') + f.end();
}

describe('ThinkFilter', () => {
  it('removes a thought split anywhere across chunks', () => {
    for (let cut = 1; cut < THINKING.length; cut++) {
      assert.equal(filtered([THINKING.slice(0, cut), THINKING.slice(cut)]), SPOKEN, `cut at ${cut}`);
    }
    assert.equal(filtered([...THINKING]), SPOKEN, 'one character per chunk');
    assert.equal(filtered(['Hi <thi', 'nk>secret', ' stuff</th', 'ink>\n\nHello', ' there']), 'Hi Hello there');
  });

  it('keeps text that only looks like the start of a tag, and drops an unfinished thought', () => {
    assert.equal(filtered(['a < b and a <', 'b> c']), 'a < b and a <b> c');
    assert.equal(filtered(['ends with <th']), 'ends with <th');
    assert.equal(filtered(['<think>never closed']), '');
  });
});

describe('FlushMarker', () => {
  it('goes once, right after the first sentence end', () => {
    const m = new FlushMarker('<flush />');
    assert.deepEqual(
      ['Hello', ' there.', ' How are you?', ' Fine.'].map((p) => m.push(p)),
      ['Hello', ' there.<flush />', ' How are you?', ' Fine.'],
    );
    assert.equal(new FlushMarker('|').push('Version 3.5 is out! Yes.'), 'Version 3.5 is out!| Yes.');
    assert.equal(new FlushMarker('|').push('你好。我是助理。'), '你好。|我是助理。');
  });
});

describe('voice-aware output per alias', () => {
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
        models: {
          plain: { provider: 'up', model: 'm' },
          voice: { provider: 'up', model: 'm', stripThink: true, flushMarker: '<flush />', reasoningEffort: 'low' },
          quiet: { provider: 'up', model: 'm', stripThink: true },
          'voice-deadline': {
            targets: [
              { provider: 'up', model: 'thinker' },
              { provider: 'up', model: 'm' },
            ],
            stripThink: true,
            firstTokenTimeoutMs: 400,
          },
        },
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
    up.scenarios.clear();
    up.scenarios.set('*', { kind: 'text', text: THINKING, reasoning: 'pondering the question' });
  });
  before(() => up.scenarios.set('*', { kind: 'text', text: THINKING, reasoning: 'pondering the question' }));

  it('without the options, thinking and reasoning pass through untouched', async () => {
    const res = await postJson(chat, { model: 'plain', stream: true, messages }, auth);
    const events = await sseEvents(res);
    assert.equal(contentOf(checkStream(events)), THINKING);
    assert.ok(events.some((e) => e.includes('reasoning_content')));
    assert.equal(up.received[0]!.body.reasoning_effort, undefined);
  });

  it('stripThink + flushMarker: the client hears only the answer, flushed after its first sentence', async () => {
    const res = await postJson(chat, { model: 'voice', stream: true, messages }, auth);
    const events = await sseEvents(res);
    const chunks = checkStream(events);
    assert.equal(contentOf(chunks), 'Yes, we are open.<flush /> Until six tonight!');
    assert.ok(!events.some((e) => /reasoning|<think>|think>/.test(e)), 'no thinking reaches the client');
    // The usage of the whole answer is still the upstream's.
    const r = await waitFor('the record', () => sink.records[0]);
    assert.equal(r.completionTokens, 7);
  });

  it('stripThink on a JSON answer', async () => {
    up.scenarios.set('*', { kind: 'text', text: THINKING });
    const res = await postJson(chat, { model: 'quiet', messages }, auth);
    const body = await res.json();
    assert.equal(body.choices[0].message.content, SPOKEN);
    assert.equal(body.usage.completion_tokens, 7);
  });

  it('reasoningEffort is the default: sent when the client sets none, the client’s own kept', async () => {
    await (await postJson(chat, { model: 'voice', messages }, auth)).text();
    await (await postJson(chat, { model: 'voice', messages, reasoning_effort: 'high' }, auth)).text();
    assert.deepEqual(
      up.received.map((r) => r.body.reasoning_effort),
      ['low', 'high'],
    );
  });

  it('with a deadline, a thought is no first token: a model still thinking at the deadline is left for the next', async () => {
    up.scenarios.set('thinker', {
      kind: 'text',
      text: `<think>${'hmm '.repeat(40)}</think>Late answer.`,
      delayMs: 30,
    });
    up.scenarios.set('m', { kind: 'text', text: 'Quick answer.' });
    const res = await postJson(chat, { model: 'voice-deadline', stream: true, messages }, auth);
    assert.equal(contentOf(checkStream(await sseEvents(res))), 'Quick answer.');
    const r = await waitFor('the record', () => sink.records[0]);
    assert.deepEqual(
      r.attempts?.map((a) => [a.model, a.outcome]),
      [
        ['thinker', 'timeout'],
        ['m', 'answered'],
      ],
    );
  });
});

describe('alias options in PARLEY_CONFIG', () => {
  const parse = (models: unknown) => parseFileConfig(JSON.stringify({ models }), 'parley.json', {});

  it('are accepted beside targets and fallbackReply', () => {
    const cfg = parse({
      voice: {
        targets: [{ provider: 'builtin', model: 'x' }],
        fallbackReply: 'One moment.',
        firstTokenTimeoutMs: 1500,
        hedgeAfterMs: 600,
        stripThink: true,
        flushMarker: '<flush />',
        reasoningEffort: 'minimal',
      },
    });
    assert.equal(cfg.models?.voice?.hedgeAfterMs, 600);
  });

  it('a hedge that could never start, or an unknown effort, stops Parley with one line naming the field', () => {
    assert.throws(
      () =>
        parse({
          voice: { provider: 'builtin', model: 'x', firstTokenTimeoutMs: 500, hedgeAfterMs: 500 },
        }),
      (e: Error) => e instanceof SettingsError && /models\.voice\.hedgeAfterMs .*less than/.test(e.message),
    );
    assert.throws(
      () => parse({ voice: { provider: 'builtin', model: 'x', reasoningEffort: 'extreme' } }),
      (e: Error) => e instanceof SettingsError && /reasoningEffort/.test(e.message),
    );
    assert.throws(
      () => parse({ voice: { provider: 'builtin', model: 'x', firstTokenTimeoutMs: 0 } }),
      (e: Error) => e instanceof SettingsError && /firstTokenTimeoutMs/.test(e.message),
    );
  });
});
