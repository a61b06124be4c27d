/**
 * Limits with in-process counters (no REDIS_URL): exact on one replica. A burst of 40
 * against 10 requests per minute answers exactly 10; tokens are reserved before the call
 * and released after an upstream error or a client abort; parallel requests and budgets
 * hold; answers and refusals carry the headers OpenAI's clients read, and the openai SDK
 * does not retry an exhausted budget.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { PriceTable } from '../src/cost/cost.js';
import type { Counters } from '../src/limits/counters.js';
import { Limiter } from '../src/limits/limiter.js';
import { MemoryCounters } from '../src/limits/memory-counters.js';
import { newContext } from '../src/pipeline/context.js';
import type { ChatRequest } from '../src/protocol/chat.js';
import { ApiError, LimitError } from '../src/protocol/errors.js';
import type { Route } from '../src/routing/router.js';
import { estimatePromptTokens } from '../src/usage/tokens.js';
import { awayFromMinuteEdge, chat, PROMPT } from './helpers/limits.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { memorySink, startParley, type TestParley } from './helpers/parley.js';

const KEYS = ['k-rpm', 'k-tpm', 'k-release', 'k-parallel', 'k-budget', 'k-zero', 'k-none', 'k-model'];
const PROMPT_TOKENS = estimatePromptTokens({ messages: [{ role: 'user', content: PROMPT }] });

describe('limits, in-process counters', () => {
  let up: MockUpstream;
  let p: TestParley;
  const sink = memorySink();
  before(async () => {
    up = await startMockUpstream();
    p = await startParley(
      { OPENAI_API_KEY: 'sk-upstream', OPENAI_BASE_URL: up.url, PARLEY_API_KEYS: KEYS.join(',') },
      {
        models: { capped: { provider: 'openai', model: 'gpt-4o-mini' } },
        limits: {
          keys: {
            'env:0': { requestsPerMinute: 10 },
            'env:1': { tokensPerMinute: 1000 },
            'env:2': { tokensPerMinute: 1000, maxParallelRequests: 1 },
            'env:3': { maxParallelRequests: 2 },
            'env:4': { budgetUsd: 0.00005, budgetPeriod: 'DAY' },
            'env:5': { budgetUsd: 0 },
          },
          models: { capped: { requestsPerMinute: 3 } },
        },
      },
      {},
      sink,
    );
  });
  after(async () => {
    await p.close();
    await up.close();
  });

  it('answers exactly 10 of 40 concurrent requests at 10 per minute; the upstream sees exactly 10', async () => {
    await awayFromMinuteEdge();
    const before = up.received.length;
    const res = await Promise.all(Array.from({ length: 40 }, () => chat(p.url, 'k-rpm')));
    const statuses = res.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 200).length, 10);
    assert.equal(statuses.filter((s) => s === 429).length, 30);
    assert.equal(up.received.length - before, 10);
    const refused = res.find((r) => r.status === 429)!;
    const body = await refused.json();
    assert.equal(body.error.type, 'rate_limit_error');
    assert.equal(body.error.code, 'rate_limit_exceeded');
    assert.equal(refused.headers.get('x-ratelimit-limit-requests'), '10');
    assert.equal(refused.headers.get('x-ratelimit-remaining-requests'), '0');
    assert.match(refused.headers.get('x-ratelimit-reset-requests')!, /^\d+(\.\d+)?(ms|s)$/);
    const retryMs = Number(refused.headers.get('retry-after-ms'));
    assert.ok(retryMs > 0 && retryMs <= 60_000, `retry-after-ms ${retryMs}`);
    assert.equal(refused.headers.get('retry-after'), String(Math.ceil(retryMs / 1000)));
    for (const r of res) if (!r.bodyUsed) await r.body?.cancel();
  });

  it('puts x-ratelimit-* on answers, JSON and streamed (before the first chunk), counting down', async () => {
    await awayFromMinuteEdge();
    const a = await chat(p.url, 'k-model', { model: 'capped' });
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('x-ratelimit-limit-requests'), '3');
    assert.equal(a.headers.get('x-ratelimit-remaining-requests'), '2');
    await a.json();
    const s = await chat(p.url, 'k-none', { model: 'capped', stream: true });
    assert.equal(s.status, 200);
    assert.match(s.headers.get('content-type')!, /^text\/event-stream/);
    assert.equal(s.headers.get('x-ratelimit-remaining-requests'), '1', 'a model limit is shared by every key');
    assert.match(await s.text(), /\[DONE\]/);
    const none = await chat(p.url, 'k-none');
    assert.equal(none.headers.get('x-ratelimit-limit-requests'), null, 'no limit, no header');
    await none.json();
  });

  it('reserves tokens before the call: concurrent requests never pass the token limit', async () => {
    await awayFromMinuteEdge();
    const maxTokens = 200;
    const reserve = PROMPT_TOKENS + maxTokens;
    const fit = Math.floor(1000 / reserve);
    const before = up.received.length;
    // Slow answers: a request that ends gives back what it reserved beyond its real usage, so the
    // burst must be decided before the first one ends for the count to be exact.
    up.scenarios.set('*', { kind: 'text', delayMs: 300 });
    try {
      const res = await Promise.all(
        Array.from({ length: 12 }, () => chat(p.url, 'k-tpm', { max_tokens: maxTokens, stream: true })),
      );
      assert.equal(res.filter((r) => r.status === 200).length, fit);
      assert.equal(up.received.length - before, fit);
      const refused = res.find((r) => r.status === 429)!;
      assert.equal(refused.headers.get('x-ratelimit-limit-tokens'), '1000');
      assert.ok(Number(refused.headers.get('retry-after-ms')) > 0);
      await Promise.all(res.map((r) => r.text()));
    } finally {
      up.scenarios.set('*', { kind: 'text' });
    }
  });

  it('refuses a request whose reservation alone is over the token limit, without retry', async () => {
    const res = await chat(p.url, 'k-tpm', { max_tokens: 5000 });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('x-should-retry'), 'false');
    assert.match((await res.json()).error.message, /Request too large/);
  });

  it('releases a reservation in full after an upstream 500 and after a client abort', async () => {
    await awayFromMinuteEdge(15_000);
    // Each request reserves 900 of the 1000 tokens: a reservation left behind would refuse the next.
    const big = { max_tokens: 900 - PROMPT_TOKENS };
    up.scenarios.set('*', { kind: 'error', status: 500 });
    try {
      const failed = await chat(p.url, 'k-release', big);
      assert.equal(failed.status, 500);
      await failed.text();
    } finally {
      up.scenarios.set('*', { kind: 'text' });
    }
    const ok = await chat(p.url, 'k-release', big);
    assert.equal(
      ok.status,
      200,
      `the failed request gave its tokens back: ${ok.status === 200 ? '' : await ok.text()}`,
    );
    await ok.json();
    assert.equal(ok.headers.get('x-ratelimit-remaining-tokens'), '100', 'nothing left of the failed request');
    // That one is reconciled to the 18 tokens it used (the mock's usage), so 918 fit again.

    up.scenarios.set('*', { kind: 'stall', afterChunks: 2 });
    const ac = new AbortController();
    try {
      const stream = await chat(p.url, 'k-release', { ...big, stream: true }, ac.signal);
      assert.equal(stream.status, 200);
      const reader = stream.body!.getReader();
      await reader.read();
      ac.abort();
      await reader.read().catch(() => {});
    } finally {
      up.scenarios.set('*', { kind: 'text' });
    }
    const waitFor = Date.now() + 5000;
    let after: Response;
    for (;;) {
      after = await chat(p.url, 'k-release', big);
      if (after.status === 200 || Date.now() > waitFor) break;
      await after.text();
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(after.status, 200, 'the aborted stream gave its tokens and its parallel slot back');
    await after.json();
    const aborted = sink.records.find((r) => r.keyId === 'env:2' && r.clientAborted);
    assert.ok(aborted, 'the abort was recorded');
  });

  it('holds requests in progress to maxParallelRequests, and gives the slots back', async () => {
    up.scenarios.set('*', { kind: 'text', delayMs: 30 });
    try {
      const res = await Promise.all(Array.from({ length: 6 }, () => chat(p.url, 'k-parallel', { stream: true })));
      assert.equal(res.filter((r) => r.status === 200).length, 2);
      const refused = res.find((r) => r.status === 429)!;
      assert.equal((await refused.json()).error.code, 'too_many_parallel_requests');
      assert.equal(refused.headers.get('retry-after'), '1');
      for (const r of res) await r.text().catch(() => {});
    } finally {
      up.scenarios.set('*', { kind: 'text' });
    }
    const again = await Promise.all([chat(p.url, 'k-parallel'), chat(p.url, 'k-parallel')]);
    assert.deepEqual(
      again.map((r) => r.status),
      [200, 200],
    );
    for (const r of again) await r.text();
  });

  it('keeps a budget exactly: recorded spend never exceeds it, refusals are insufficient_quota', async () => {
    const budgetMicros = 50;
    const res = await Promise.all(Array.from({ length: 20 }, () => chat(p.url, 'k-budget', { max_tokens: 7 })));
    const answered = res.filter((r) => r.status === 200).length;
    assert.ok(answered >= 1, 'some requests fit the budget');
    for (const r of res.filter((r) => r.status === 429)) {
      assert.equal(r.headers.get('x-should-retry'), 'false');
      const body = await r.json();
      assert.equal(body.error.type, 'insufficient_quota');
      assert.equal(body.error.code, 'insufficient_quota');
    }
    // Then one at a time until refused: the reservations settled to the real cost let more in.
    for (let i = 0; i < 20; i++) {
      const r = await chat(p.url, 'k-budget', { max_tokens: 7 });
      await r.text();
      if (r.status === 429) break;
    }
    const spent = sink.records.filter((r) => r.keyId === 'env:4').reduce((sum, r) => sum + (r.costMicros ?? 0), 0);
    const costs = sink.records.filter((r) => r.keyId === 'env:4' && r.status === 200).map((r) => r.costMicros);
    // gpt-4o-mini: 11 prompt tokens at $0.15/MTok + 7 completion tokens at $0.60/MTok = 5.85 µ$ → 6.
    assert.ok(costs.length > answered && costs.every((c) => c === 6), JSON.stringify(costs));
    assert.ok(spent <= budgetMicros, `spent ${spent} µ$ of ${budgetMicros}`);
    assert.ok(spent > budgetMicros - 10, `spent ${spent} µ$: the budget was used, not left idle`);
  });

  it('the openai SDK reads an exhausted budget as final: one request, no retry', async () => {
    const before = sink.records.filter((r) => r.keyId === 'env:5').length;
    const client = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: 'k-zero' }); // default maxRetries (2)
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.RateLimitError);
        assert.equal(err.status, 429);
        assert.equal(err.code, 'insufficient_quota');
        assert.equal(err.type, 'insufficient_quota');
        return true;
      },
    );
    assert.equal(sink.records.filter((r) => r.keyId === 'env:5').length - before, 1, 'Parley saw one request');
  });
});

describe('in-process counters', () => {
  it('start a window over at the minute, with the reset it announced', async () => {
    let now = 1_800_000_000_000 + 59_000; // one second before a minute ends
    const c = new MemoryCounters(() => now);
    const charge = { kind: 'window' as const, key: 'k', windowMs: 60_000, limit: 1, amount: 1 };
    const first = await c.acquire([charge]);
    assert.ok('ok' in first && first.ok && first.states[0]!.resetMs === 1_000);
    const second = await c.acquire([charge]);
    assert.ok('ok' in second && !second.ok);
    now += 1_000;
    const third = await c.acquire([charge]);
    assert.ok('ok' in third && third.ok && third.states[0]!.resetMs === 60_000);
    await c.close();
  });

  it('add all or nothing, and seed a budget before charging it', async () => {
    const c = new MemoryCounters();
    const budget = { kind: 'budget' as const, key: 'b', limit: 10, amount: 4 };
    const gauge = { kind: 'gauge' as const, key: 'g', limit: 1, amount: 1 };
    assert.deepEqual(await c.acquire([gauge, budget]), { seed: 1 });
    await c.seed('b', 5, 0);
    const a = await c.acquire([gauge, budget]);
    assert.ok('ok' in a && a.ok);
    const b = await c.acquire([gauge, budget]);
    assert.ok('ok' in b && !b.ok && b.states[0]!.before === 1 && b.states[1]!.before === 9);
    await c.adjust([
      { key: 'g', delta: -1 },
      { key: 'b', delta: -9 },
    ]);
    const d = await c.acquire([gauge, budget]);
    assert.ok('ok' in d && d.ok && d.states[1]!.before === 0, 'never below 0');
    await c.close();
  });
});

describe('the limiter when its store fails', () => {
  const failing: Counters = {
    acquire: async () => {
      throw new Error('connection refused');
    },
    seed: async () => {},
    adjust: async () => {},
    close: async () => {},
  };
  const route = {
    model: 'gpt-4o-mini',
    targets: [
      { provider: { id: 'openai', type: 'openai-compatible', chat: async () => assert.fail() }, model: 'gpt-4o-mini' },
    ],
  } as unknown as Route;
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] } as ChatRequest;
  const warnings: string[] = [];
  const limiter = (onStoreError: 'open' | 'closed') =>
    new Limiter({
      counters: failing,
      prices: new PriceTable(),
      config: { keys: { 'env:0': { requestsPerMinute: 5 }, 'env:1': { budgetUsd: 10 } } },
      ledger: null,
      onStoreError,
      defaultMaxTokens: 100,
      log: { warn: (_o, m) => void warnings.push(m), info: () => {} },
    });
  const ctxOf = (keyId: string) => newContext('req_1', 'openai', 0, { keyId });

  it('lets rate-limited requests through uncounted when open, refuses them with 503 when closed', async () => {
    const open = ctxOf('env:0');
    await limiter('open').admit(open, body, route);
    assert.equal(open.limits, null);
    assert.equal(open.limitHeaders, null);
    await assert.rejects(limiter('closed').admit(ctxOf('env:0'), body, route), (e: unknown) => {
      assert.ok(e instanceof ApiError && e.status === 503 && e.code === 'limits_unavailable');
      return true;
    });
    assert.match(warnings[0]!, /limit store is unavailable/);
  });

  it('always refuses a request with a budget (503 + retry-after)', async () => {
    await assert.rejects(limiter('open').admit(ctxOf('env:1'), body, route), (e: unknown) => {
      assert.ok(e instanceof LimitError && e.status === 503 && e.headers['retry-after'] === '1');
      return true;
    });
  });
});

describe('prices', () => {
  const prices = new PriceTable({ 'my-model': { inputPerMTok: 3, outputPerMTok: 12 } });
  it('match exactly, after a provider prefix, without a dated suffix, then by the longest prefix', () => {
    const usage = { prompt_tokens: 1_000_000, completion_tokens: 0, total_tokens: 1_000_000 };
    assert.equal(prices.cost('gpt-4o', usage), 2_500_000);
    assert.equal(prices.cost('gpt-4o-2024-05-13', usage), 5_000_000, 'an exact dated entry wins');
    assert.equal(prices.cost('gpt-4o-2024-08-06', usage), 2_500_000);
    assert.equal(prices.cost('openai/gpt-4o-mini', usage), 150_000);
    assert.equal(prices.cost('claude-sonnet-4-5-20250929', usage), 3_000_000);
    assert.equal(prices.cost('gemini-2.5-flash-lite-preview-06-17', usage), 100_000);
    assert.equal(prices.cost('my-model', usage), 3_000_000);
    assert.equal(prices.cost('llama-3.1-8b', usage), null);
  });
  it('cost in integer micro-dollars: cached tokens at their price, rounded up once, no float drift', () => {
    // 11 prompt (4 cached) + 7 completion on gpt-4o-mini: 7×0.15 + 4×0.075 + 7×0.6 = 5.55 µ$ → 6.
    const u = {
      prompt_tokens: 11,
      completion_tokens: 7,
      total_tokens: 18,
      prompt_tokens_details: { cached_tokens: 4 },
    };
    assert.equal(prices.cost('gpt-4o-mini', u as never), 6);
    let sum = 0;
    for (let i = 0; i < 1000; i++)
      sum += prices.cost('gpt-4.1-nano', { prompt_tokens: 10, completion_tokens: 0, total_tokens: 10 })!;
    assert.equal(sum, 1000, '10 tokens at $0.10/MTok is exactly 1 µ$, a thousand times');
    assert.equal(prices.cost('gpt-4o', { prompt_tokens: 'x', completion_tokens: -1 } as never), 0);
  });
});
