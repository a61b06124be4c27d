/**
 * PARLEY_CONFIG's per-provider settings take effect: `timeouts` (first byte, idle) override the
 * environment's, `headers` go upstream with every request, `requestUsage: false` keeps
 * stream_options.include_usage off the upstream request (some servers reject it).
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { FileConfig } from '../src/config/file.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { postJson, sseEvents, startParley, type TestParley } from './helpers/parley.js';

const messages = [{ role: 'user', content: 'hi' }];
/** Bounds a hang: with the provider's timeouts ignored, the environment's 120 s would apply. */
const HANG_BOUND = { timeout: 20_000 };

describe('PARLEY_CONFIG provider settings', () => {
  let up: MockUpstream;
  let p: TestParley;
  let chat: string;
  before(async () => {
    up = await startMockUpstream();
    const config: FileConfig = {
      providers: {
        quick: {
          type: 'openai-compatible',
          baseUrl: up.url,
          apiKey: 'sk-quick',
          timeouts: { firstByteMs: 300, idleMs: 300 },
          headers: { 'x-team': 'voice', 'HTTP-Referer': 'https://parley.example' },
        },
        plain: { type: 'openai-compatible', baseUrl: up.url, apiKey: 'sk-plain', requestUsage: false },
        usual: { type: 'openai-compatible', baseUrl: up.url, apiKey: 'sk-usual' },
      },
      models: {
        quick: { provider: 'quick', model: 'quick-model' },
        plain: { provider: 'plain', model: 'plain-model' },
        usual: { provider: 'usual', model: 'usual-model' },
      },
    };
    // The environment's timeouts stay at their 120 s defaults.
    p = await startParley({}, config);
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

  it('applies timeouts.firstByteMs: an upstream that never answers is a 504', HANG_BOUND, async () => {
    up.scenarios.set('quick-model', { kind: 'hang' });
    const res = await postJson(chat, { model: 'quick', messages });
    assert.equal(res.status, 504);
    assert.equal((await res.json()).error.type, 'timeout_error');
  });

  it('applies timeouts.idleMs: a stream that stalls ends with an error event', HANG_BOUND, async () => {
    up.scenarios.set('quick-model', { kind: 'stall', afterChunks: 2 });
    const res = await postJson(chat, { model: 'quick', messages, stream: true });
    assert.equal(res.status, 200);
    const events = await sseEvents(res);
    const last = JSON.parse(events.at(-1)!);
    assert.equal(last.error?.type, 'timeout_error', `last event: ${events.at(-1)}`);
  });

  it("sends the configured headers upstream, with the provider's key", async () => {
    assert.equal((await postJson(chat, { model: 'quick', messages })).status, 200);
    const got = up.received[0]!.headers;
    assert.equal(got['x-team'], 'voice');
    assert.equal(got['http-referer'], 'https://parley.example');
    assert.equal(got.authorization, 'Bearer sk-quick');
  });

  it('asks for usage in streams by default, and not with requestUsage: false', async () => {
    for (const model of ['usual', 'plain']) await (await postJson(chat, { model, messages, stream: true })).text();
    const [usual, plain] = up.received;
    assert.deepEqual(usual!.body.stream_options, { include_usage: true });
    assert.equal(plain!.body.model, 'plain-model');
    assert.equal(plain!.body.stream_options, undefined);
  });
});
