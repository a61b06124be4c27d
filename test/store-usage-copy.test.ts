/**
 * The embedded database's usage writer (COPY from a CSV file): every value arrives as it
 * was (quotes, commas, line breaks, empty strings apart from NULL, non-ASCII), and a batch
 * written again after an ambiguous failure is neither duplicated nor an error — also when
 * the retry carries newer records beside the ones already written. Also the token counts
 * taken from an upstream's usage object, which go into integer columns.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { newContext, tokenCount, toRecord } from '../src/pipeline/context.js';
import { type Database, openDatabase } from '../src/store/database.js';
import { migrate } from '../src/store/migrate.js';
import { COPY_FILE_PREFIX, copyFileWriter } from '../src/store/usage-copy.js';
import { BatchedUsageSink, type BatchWriter, type PendingRecord } from '../src/store/usage-sink.js';
import type { RequestRecord } from '../src/usage/record.js';
import { pgliteBackend } from './helpers/store.js';
import { sampleRecord } from './helpers/usage-record.js';

const silent = pino({ level: 'silent' });

function record(over: Partial<RequestRecord>): PendingRecord {
  return {
    id: randomUUID(),
    r: sampleRecord(`copy-${randomUUID()}`, {
      keyId: 'env:0',
      requestedModel: 'gpt-4o-mini',
      provider: 'openai',
      upstreamModel: 'gpt-4o-mini',
      completionTokens: 2,
      totalTokens: 3,
      durationMs: 1.5,
      ...over,
    }),
  };
}

describe('COPY usage writer (embedded database)', () => {
  const backend = pgliteBackend();
  let db: Database;
  let write: ReturnType<typeof copyFileWriter>;
  const batchFiles = () => readdirSync(db.embedded!.dataDir).filter((f) => f.startsWith(COPY_FILE_PREFIX));
  const count = async (batch: PendingRecord[]) =>
    (
      await db.pool.query(`SELECT count(*)::int AS n FROM "RequestLog" WHERE id = ANY($1::uuid[])`, [
        batch.map((p) => p.id),
      ])
    ).rows[0].n as number;
  before(async () => {
    const env = await backend.fresh();
    db = await openDatabase({ dataDir: env.PARLEY_DATA_DIR!, log: silent });
    await migrate(db.pool, silent);
    const { rows } = await db.pool.query<{ data_directory: string }>('SHOW data_directory');
    write = copyFileWriter(db.pool, {
      hostDir: db.embedded!.dataDir,
      serverDir: rows[0]!.data_directory,
      timeoutMs: 10_000,
    });
  });
  after(async () => {
    await db?.close();
    await backend.cleanup();
  });

  it('writes every value as it was', async () => {
    const odd = [
      record({
        requestedModel: 'say "hi", then\nleave',
        errorType: '',
        ttftMs: 12.345,
        stream: true,
        vapi: { callId: 'call,1', assistantId: '"a"', customerNumber: '+1 (415) 555-0100' },
        platform: 'vapi',
        callId: 'call,1',
        replayOf: 'req_"first"',
      }),
      record({
        requestedModel: 'modèle — 模型 🚀',
        keyId: null,
        provider: null,
        upstreamModel: null,
        promptTokens: null,
        completionTokens: null,
        totalTokens: null,
        clientAborted: true,
        fallback: true,
        status: 499,
      }),
      record({ requestedModel: 'back\\slash\r\nCRLF', errorType: 'NULL' }),
    ];
    await write(odd);
    const { rows } = await db.pool.query(`SELECT * FROM "RequestLog" WHERE id = ANY($1::uuid[])`, [
      odd.map((p) => p.id),
    ]);
    assert.equal(rows.length, odd.length);
    for (const p of odd) {
      const row = rows.find((r) => r.id === p.id)!;
      const { vapi, ...r } = p.r;
      for (const [k, v] of Object.entries(r)) assert.deepEqual(row[k], v, `${k} of ${p.r.requestedModel}`);
      assert.equal(row.vapiCallId, vapi?.callId ?? null);
      assert.equal(row.vapiAssistantId, vapi?.assistantId ?? null);
      assert.equal(row.vapiCustomerNumber, vapi?.customerNumber ?? null);
    }
    assert.deepEqual(batchFiles(), [], 'the batch file is removed after the COPY');
  });

  it('treats a batch that is already written as written (a retry after a lost reply)', async () => {
    const batch = [record({}), record({})];
    await write(batch);
    await write(batch);
    assert.equal(await count(batch), 2);
  });

  it('writes the new rows of a retry that also carries rows already written, each once', async () => {
    const first = [record({}), record({}), record({})];
    await write(first);
    const retry = [...first, record({}), record({})];
    await write(retry);
    assert.equal(await count(retry), 5);
    assert.deepEqual(batchFiles(), []);
  });

  it('loses nothing when a write commits but its reply is lost and more records arrive before the retry', async () => {
    // The reproduction from the issue, through the batching sink: the first write lands,
    // then fails as a lost reply would; records arrive meanwhile; the retry's batch is the
    // first one plus the newcomers.
    const first = [record({}), record({}), record({})].map((p) => p.r);
    const later = [record({}), record({})].map((p) => p.r);
    let calls = 0;
    let sink: BatchedUsageSink;
    const flaky: BatchWriter = async (batch, signal) => {
      await write(batch, signal);
      if (++calls === 1) {
        for (const r of later) sink.record(r);
        throw new Error('Connection terminated unexpectedly');
      }
    };
    sink = new BatchedUsageSink(flaky, silent, { maxBuffer: 100, flushIntervalMs: 60_000, retryMinMs: 1 });
    try {
      for (const r of first) sink.record(r);
      await sink.flush(30_000);
    } finally {
      sink.close();
    }
    assert.ok(calls >= 2, 'the batch was retried');
    const { rows } = await db.pool.query(
      `SELECT "requestId", count(*)::int AS n FROM "RequestLog" WHERE "requestId" = ANY($1) GROUP BY 1`,
      [[...first, ...later].map((r) => r.requestId)],
    );
    assert.equal(rows.length, 5, 'every record is in');
    assert.ok(
      rows.every((r) => r.n === 1),
      'none twice',
    );
  });

  it('still fails on errors that mean the batch was not written', async () => {
    await assert.rejects(write([record({ status: 'not a number' as never })]), /invalid input syntax/);
  });
});

describe('token counts from an upstream usage object', () => {
  it('keeps whole numbers from 0 to 2^31 − 1 and drops anything else', () => {
    assert.equal(tokenCount(0), 0);
    assert.equal(tokenCount(2 ** 31 - 1), 2 ** 31 - 1);
    for (const bad of [-1, 1.5, 2 ** 31, 1e20, Number.NaN, '12', null, undefined, {}])
      assert.equal(tokenCount(bad), null, String(bad));
    const ctx = newContext('req_tokens', 'openai', performance.now());
    ctx.usage = { prompt_tokens: '10', completion_tokens: 1e20, total_tokens: 7 } as never;
    const r = toRecord(ctx, performance.now());
    assert.deepEqual([r.promptTokens, r.completionTokens, r.totalTokens], [null, null, 7]);
  });
});
