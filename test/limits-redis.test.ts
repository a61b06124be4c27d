/**
 * Limits across replicas: two real Parley processes (npm start's entry point) on one
 * PostgreSQL database and one Redis hold one limit between them. The 40-request burst split
 * across both answers exactly 10 (the upstream sees exactly 10); a token limit holds under
 * concurrency; a reservation is released after an upstream 500 and a client abort; a window
 * resets when its headers said; a budget is exact across both (recorded spend ≤ budget,
 * refusals insufficient_quota); and with Redis cut mid-run budgets refuse (503) while rate
 * limits let requests through (PARLEY_LIMITS_ON_REDIS_ERROR=open), until Redis is back.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { estimatePromptTokens } from '../src/usage/tokens.js';
import {
  awayFromMinuteEdge,
  chat,
  PROMPT,
  REDIS_URL,
  type RedisRelay,
  redisRelay,
  redisUnavailable,
} from './helpers/limits.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { needs } from './helpers/prerequisites.js';
import { postgresBackend } from './helpers/store.js';

const KEYS = ['k-rpm', 'k-tpm', 'k-release', 'k-reset', 'k-budget', 'k-cut-budget', 'k-cut-rpm'];
const PROMPT_TOKENS = estimatePromptTokens({ messages: [{ role: 'user', content: PROMPT }] });
const BUDGET_MICROS = 50;

const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Replica {
  url: string;
  child: ChildProcess;
  output(): string;
}

async function startReplica(env: Record<string, string>): Promise<Replica> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[^\s)]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.stderr!.on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`exited ${code} before listening:\n${out}`)));
  });
  return { url, child, output: () => out };
}

async function stop(r: Replica | undefined): Promise<void> {
  if (!r || r.child.exitCode !== null) return;
  const exited = new Promise((res) => r.child.once('exit', res));
  r.child.kill('SIGTERM');
  await exited;
}

const drain = async (res: Response[]) => {
  for (const r of res) if (!r.bodyUsed) await r.body?.cancel();
};

const redisSkip = await redisUnavailable();
const pgBackend = postgresBackend();

describe('limits across two replicas (Redis, PostgreSQL)', {
  skip: needs('Redis', redisSkip) || needs('PostgreSQL', pgBackend.unavailable),
}, () => {
  const prefix = `parley-test-${randomBytes(6).toString('hex')}:`;
  const dirs: string[] = [];
  let up: MockUpstream;
  let relay: RedisRelay;
  let a: Replica;
  let b: Replica;
  let c: Replica;
  let db: pg.Pool;

  before(async () => {
    up = await startMockUpstream();
    relay = await redisRelay(REDIS_URL);
    const DATABASE_URL = (await pgBackend.fresh()).DATABASE_URL!;
    db = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
    const dir = mkdtempSync(join(tmpdir(), 'parley-limits-'));
    dirs.push(dir);
    const config = join(dir, 'parley.json');
    writeFileSync(
      config,
      JSON.stringify({
        limits: {
          keys: {
            'env:0': { requestsPerMinute: 10 },
            'env:1': { tokensPerMinute: 1000 },
            'env:2': { tokensPerMinute: 1000, maxParallelRequests: 1 },
            'env:3': { requestsPerMinute: 1 },
            'env:4': { budgetUsd: BUDGET_MICROS / 1e6, budgetPeriod: 'TOTAL' },
            'env:5': { budgetUsd: 1, budgetPeriod: 'TOTAL' },
            'env:6': { requestsPerMinute: 1000 },
          },
        },
      }),
    );
    const env = (redisUrl: string) => {
      const data = mkdtempSync(join(tmpdir(), 'parley-limits-data-'));
      dirs.push(data);
      return {
        PORT: '0',
        DATABASE_URL,
        PARLEY_DATA_DIR: data,
        REDIS_URL: redisUrl,
        PARLEY_REDIS_PREFIX: prefix,
        // Generous: a loaded CI machine must not turn a slow answer into "Redis unavailable".
        PARLEY_REDIS_TIMEOUT_MS: '5000',
        PARLEY_CONFIG: config,
        PARLEY_API_KEYS: KEYS.join(','),
        OPENAI_API_KEY: 'sk-upstream',
        OPENAI_BASE_URL: up.url,
        PARLEY_USAGE_FLUSH_MS: '20',
        LOG_LEVEL: 'info', // the "listening on" line is at info
      };
    };
    // The first replica migrates the database; the others start once it is done.
    a = await startReplica(env(REDIS_URL));
    [b, c] = await Promise.all([startReplica(env(REDIS_URL)), startReplica(env(relay.url))]);
  });

  after(async () => {
    await Promise.all([stop(a), stop(b), stop(c)]);
    await db?.end();
    await relay?.close();
    await up?.close();
    await pgBackend.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (!redisSkip) {
      const r = new Redis(REDIS_URL);
      const keys = await r.keys(`${prefix}*`);
      if (keys.length) await r.del(...keys);
      r.disconnect();
    }
  });

  it('answers exactly 10 of 40 concurrent requests split across both replicas; the upstream sees 10', async () => {
    await awayFromMinuteEdge();
    const before = up.received.length;
    const res = await Promise.all(Array.from({ length: 40 }, (_, i) => chat(i % 2 ? a.url : b.url, 'k-rpm')));
    const statuses = res.map((r) => r.status);
    const odd = res.find((r) => r.status !== 200 && r.status !== 429);
    assert.equal(odd, undefined, `${statuses.join(',')}: ${await odd?.text()}`);
    assert.equal(statuses.filter((s) => s === 200).length, 10, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 30);
    assert.equal(up.received.length - before, 10);
    const refused = res.find((r) => r.status === 429)!;
    assert.equal(refused.headers.get('x-ratelimit-remaining-requests'), '0');
    assert.ok(Number(refused.headers.get('retry-after-ms')) > 0);
    await drain(res);
  });

  it('holds a token limit under concurrency across both replicas', async () => {
    // A loaded machine can take seconds to send the burst: keep it well inside one minute's window.
    await awayFromMinuteEdge(20_000);
    const fit = Math.floor(1000 / (PROMPT_TOKENS + 200));
    const before = up.received.length;
    // Slow answers (~3 s each): a request that ends gives back what it reserved beyond its real
    // usage, so the burst must be decided before the first one ends for the count to be exact.
    up.scenarios.set('*', { kind: 'text', delayMs: 400 });
    try {
      const res = await Promise.all(
        Array.from({ length: 12 }, (_, i) => chat(i % 2 ? a.url : b.url, 'k-tpm', { max_tokens: 200, stream: true })),
      );
      assert.equal(res.filter((r) => r.status === 200).length, fit);
      assert.equal(up.received.length - before, fit);
      await Promise.all(res.map((r) => r.text()));
    } finally {
      up.scenarios.set('*', { kind: 'text' });
    }
  });

  it('releases a reservation after an upstream 500 and after a client abort', async () => {
    await awayFromMinuteEdge(15_000);
    const big = { max_tokens: 900 - PROMPT_TOKENS };
    up.scenarios.set('*', { kind: 'error', status: 500 });
    try {
      const failed = await chat(a.url, 'k-release', big);
      assert.equal(failed.status, 500);
      await failed.text();
    } finally {
      up.scenarios.set('*', { kind: 'text' });
    }
    const retried = async (url: string) => {
      // The release is sent as the record is made, just after the answer: give it a moment.
      for (let i = 0; ; i++) {
        const r = await chat(url, 'k-release', big);
        if (r.status === 200 || i === 40) return r;
        await r.text();
        await new Promise((res) => setTimeout(res, 50));
      }
    };
    const ok = await retried(b.url);
    assert.equal(ok.status, 200, 'the failed request gave its tokens back');
    await ok.json();
    up.scenarios.set('*', { kind: 'stall', afterChunks: 2 });
    const ac = new AbortController();
    try {
      const stream = await chat(a.url, 'k-release', { ...big, stream: true }, ac.signal);
      assert.equal(stream.status, 200);
      const reader = stream.body!.getReader();
      await reader.read();
      ac.abort();
      await reader.read().catch(() => {});
    } finally {
      up.scenarios.set('*', { kind: 'text' });
    }
    const after = await retried(b.url);
    assert.equal(after.status, 200, 'the aborted stream gave its tokens and its parallel slot back');
    await after.json();
  });

  it('starts a window over when x-ratelimit-reset-requests said', { timeout: 120_000 }, async () => {
    await awayFromMinuteEdge();
    const first = await chat(a.url, 'k-reset');
    assert.equal(first.status, 200);
    await first.text();
    const refused = await chat(b.url, 'k-reset');
    assert.equal(refused.status, 429);
    await refused.text();
    const waitMs = Number(refused.headers.get('retry-after-ms'));
    const reset = refused.headers.get('x-ratelimit-reset-requests')!;
    const resetMs = reset.endsWith('ms') ? Number(reset.slice(0, -2)) : Number(reset.slice(0, -1)) * 1000;
    assert.ok(Math.abs(resetMs - waitMs) <= 1, `${reset} vs retry-after-ms ${waitMs}`);
    const early = await chat(b.url, 'k-reset');
    assert.equal(early.status, 429);
    await early.text();
    await new Promise((r) => setTimeout(r, waitMs + 100));
    const again = await chat(b.url, 'k-reset');
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('x-ratelimit-remaining-requests'), '0');
    await again.text();
  });

  it('keeps a budget exact across both replicas: recorded spend ≤ budget, refusals insufficient_quota', async () => {
    const res = await Promise.all(
      Array.from({ length: 20 }, (_, i) => chat(i % 2 ? a.url : b.url, 'k-budget', { max_tokens: 7 })),
    );
    const answered = res.filter((r) => r.status === 200).length;
    assert.ok(answered >= 1);
    for (const r of res.filter((r) => r.status !== 200)) {
      assert.equal(r.status, 429);
      assert.equal(r.headers.get('x-should-retry'), 'false');
      assert.equal((await r.json()).error.type, 'insufficient_quota');
    }
    await drain(res);
    for (let i = 0; i < 20; i++) {
      const r = await chat(i % 2 ? a.url : b.url, 'k-budget', { max_tokens: 7 });
      await r.text();
      if (r.status === 429) break;
    }
    // Every record written (flushed every 20 ms), then the ledger's sum.
    await new Promise((r) => setTimeout(r, 1000));
    const { rows } = await db.query<{ spent: string; n: number }>(
      `SELECT coalesce(sum("costMicros"), 0)::text AS spent, (count(*) FILTER (WHERE status = 200))::int AS n
         FROM "RequestLog" WHERE "keyId" = 'env:4'`,
    );
    const spent = Number(rows[0]!.spent);
    assert.ok(spent <= BUDGET_MICROS, `recorded spend ${spent} µ$ is over the budget of ${BUDGET_MICROS}`);
    assert.ok(spent > BUDGET_MICROS - 10, `recorded spend ${spent} µ$: the budget was used`);
    assert.equal(spent, rows[0]!.n * 6);
  });

  it('with Redis cut: budgets refuse with 503 + retry-after, rate limits let requests through; all is back with Redis', async () => {
    const warm = await chat(c.url, 'k-cut-budget', { max_tokens: 7 });
    assert.equal(warm.status, 200);
    await warm.text();
    await relay.down();
    try {
      const budget = await chat(c.url, 'k-cut-budget', { max_tokens: 7 });
      assert.equal(budget.status, 503);
      assert.equal(budget.headers.get('retry-after'), '1');
      assert.equal((await budget.json()).error.code, 'limits_unavailable');
      const rate = await chat(c.url, 'k-cut-rpm');
      assert.equal(rate.status, 200, 'PARLEY_LIMITS_ON_REDIS_ERROR=open (the default)');
      await rate.text();
      // Log lines leave in batches (at most 200 ms late).
      for (let i = 0; i < 50 && !/the limit store is unavailable/.test(c.output()); i++)
        await new Promise((r) => setTimeout(r, 100));
      assert.match(c.output(), /the limit store is unavailable/);
    } finally {
      await relay.up();
    }
    let back: Response | undefined;
    for (let i = 0; i < 100; i++) {
      back = await chat(c.url, 'k-cut-budget', { max_tokens: 7 });
      if (back.status === 200) break;
      await back.text();
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(back!.status, 200, 'budgets work again once Redis is back');
    await back!.text();
  });
});
