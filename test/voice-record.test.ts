/**
 * Issue 13 §3–4 in the database: the attempts a request made (attemptCount, attempts) and
 * whether its usage is estimated reach the RequestLog row through the embedded database's
 * COPY writer and PostgreSQL's INSERT, and GraphQL's requestLogs returns them.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { columnValue } from '../src/store/usage-sink.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { postJson, sseEvents } from './helpers/parley.js';
import { needs } from './helpers/prerequisites.js';
import { backends, eventually, gql, type StoreParley, startStoreParley } from './helpers/store.js';
import { sampleRecord } from './helpers/usage-record.js';

const KEY = 'sk-record-test';
const ADMIN = 'sk-record-admin';
const auth = { authorization: `Bearer ${KEY}` };
const messages = [{ role: 'user', content: 'Are you open today?' }];

describe('the attempts column', () => {
  it('is JSON whose names are shortened and freed of NUL, never cut JSON', () => {
    const r = sampleRecord('x', {
      attempts: [
        {
          provider: 'p',
          model: `a\u0000${'m'.repeat(2000)}`,
          outcome: 'failed',
          status: 503,
          code: null,
          startMs: 0,
          ms: 1,
        },
      ],
    });
    const json = columnValue({ id: randomUUID(), r }, 'attempts') as string;
    const [a] = JSON.parse(json);
    assert.equal(a.model.length, 512);
    assert.ok(a.model.startsWith('a\uFFFD'));
    assert.equal(columnValue({ id: randomUUID(), r }, 'attemptCount'), 1);
    assert.equal(columnValue({ id: randomUUID(), r: sampleRecord('y') }, 'attempts'), null);
  });
});

for (const backend of backends()) {
  describe(`attempts and estimated usage on ${backend.name}`, {
    skip: needs(`the ${backend.name} backend`, backend.unavailable),
  }, () => {
    let up: MockUpstream;
    let p: StoreParley;
    let dir: string;
    before(async () => {
      up = await startMockUpstream();
      up.scenarios.set('down', { kind: 'error', status: 503 });
      dir = mkdtempSync(join(tmpdir(), 'parley-voice-record-'));
      const config = join(dir, 'parley.json');
      writeFileSync(
        config,
        JSON.stringify({
          providers: { up: { type: 'openai-compatible', baseUrl: up.url } },
          models: {
            voice: {
              targets: [
                { provider: 'up', model: 'down' },
                { provider: 'up', model: 'ok' },
              ],
              firstTokenTimeoutMs: 5000,
              hedgeAfterMs: 2000,
            },
          },
        }),
      );
      const env = await backend.fresh();
      p = await startStoreParley({
        ...env,
        PARLEY_API_KEYS: KEY,
        PARLEY_ADMIN_KEY: ADMIN,
        PARLEY_CONFIG: config,
        PARLEY_BUILTIN_TOKEN_DELAY_MS: '30',
      });
    });
    after(async () => {
      await p?.close();
      await up?.close();
      await backend.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    it('stores each attempt and an estimated usage, and requestLogs returns them', async () => {
      const chat = `${p.url}/v1/chat/completions`;
      const res = await postJson(
        chat,
        { model: 'voice', stream: true, messages },
        { ...auth, 'x-request-id': 'rec-1' },
      );
      await sseEvents(res);
      // A barge-in on the offline model (its usage comes only at the end).
      const ac = new AbortController();
      const cut = await fetch(chat, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth, 'x-request-id': 'rec-2' },
        body: JSON.stringify({ model: 'default', stream: true, messages }),
        signal: ac.signal,
      });
      const reader = cut.body!.getReader();
      let got = '';
      while ((got.match(/"content":"[^"]/g) ?? []).length < 3)
        got += new TextDecoder().decode((await reader.read()).value);
      ac.abort();
      await sleep(50);
      await eventually(async () => {
        const { rows } = await p.store.db.pool.query(`SELECT count(*)::int AS n FROM "RequestLog"`);
        return rows[0].n === 2 && p.store.usage.pending === 0;
      }, 'both rows written');
      const result = await gql(
        p.url,
        '{ requestLogs { nodes { requestId provider upstreamModel attemptCount attempts { provider model outcome status code startMs ms } usageEstimated completionTokens clientAborted } } }',
        undefined,
        ADMIN,
      );
      assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
      const by = Object.fromEntries(
        (result.body.data!.requestLogs.nodes as { requestId: string }[]).map((n) => [n.requestId, n]),
      ) as Record<string, any>;
      const one = by['rec-1'];
      assert.equal(one.attemptCount, 2);
      assert.equal(one.upstreamModel, 'ok');
      assert.deepEqual(
        one.attempts.map((a: any) => [a.provider, a.model, a.outcome, a.status, a.code]),
        [
          ['up', 'down', 'failed', 503, null],
          ['up', 'ok', 'answered', null, null],
        ],
      );
      assert.equal(typeof one.attempts[0].ms, 'number');
      assert.equal(one.usageEstimated, false);
      const two = by['rec-2'];
      assert.equal(two.clientAborted, true);
      assert.equal(two.usageEstimated, true);
      assert.ok(two.completionTokens > 0, `completion tokens: ${two.completionTokens}`);
      assert.equal(two.attemptCount, 1);
    });
  });
}
