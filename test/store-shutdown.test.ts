/**
 * Shutdown with a database that hangs: every write has a deadline, the shutdown flush has
 * one that also covers a write already running, and the records still unwritten then are
 * saved to a file in the data dir and written at the next start — each exactly once, also
 * those of a write that committed after it was given up on.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { openStore } from '../src/store/index.js';
import { BatchedUsageSink, type BatchWriter, type PendingRecord } from '../src/store/usage-sink.js';
import { SPILL_DIR_NAME, spillTo } from '../src/store/usage-spill.js';
import { postJson } from './helpers/parley.js';
import { needs } from './helpers/prerequisites.js';
import { backends, captureLogger, eventually, startStoreParley, testSettings } from './helpers/store.js';
import { sampleRecord } from './helpers/usage-record.js';

const KEY = 'sk-shutdown-test-key';

const usageRecord = (requestId: string) => sampleRecord(requestId);

/** Rejects if `p` hasn't settled after `ms`: bounds a hang, it doesn't time the work. */
function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`${what} still running after ${ms} ms`)), ms)),
    ),
  ]).finally(() => clearTimeout(timer));
}

describe('usage sink flush deadline', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('does not wait past its deadline for a write that hangs: it gives the write up and saves its records to the spill file', async () => {
    let signal: AbortSignal | undefined;
    // A write that never finishes by itself, like an INSERT waiting on a locked table.
    const hanging: BatchWriter = (_batch, s) =>
      new Promise((_, reject) => {
        signal = s;
        s?.addEventListener('abort', () => reject(new Error('abandoned')));
      });
    const spilled: PendingRecord[][] = [];
    const { log, lines } = captureLogger();
    const sink = new BatchedUsageSink(hanging, log, {
      maxBuffer: 100,
      flushIntervalMs: 10,
      flushTimeoutMs: 200,
      spill: (records) => {
        spilled.push(records);
        return 'the-file';
      },
    });
    try {
      for (let i = 0; i < 3; i++) sink.record(usageRecord(`hang-${i}`));
      await eventually(() => signal !== undefined, 'a write in progress when the shutdown flush begins');
      sink.record(usageRecord('hang-3'));
      await bounded(sink.flush(), 30_000, 'flush');
    } finally {
      sink.close();
    }
    assert.deepEqual(
      spilled.map((b) => b.map((p) => p.r.requestId)),
      [['hang-0', 'hang-1', 'hang-2', 'hang-3']],
      "the running write's records and the rest, once",
    );
    assert.equal(signal?.aborted, true, 'the running write was given up (its connection ended)');
    assert.equal(sink.pending, 0);
    assert.ok(
      lines.some((l) => l.spilled === 4 && l.file === 'the-file'),
      'the count and the file are logged',
    );
  });

  it('writes its spill file so that it survives a restart: JSON lines with the ids, created atomically', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-spill-'));
    dirs.push(dir);
    const records = [
      { id: randomUUID(), r: usageRecord('spill-a') },
      { id: randomUUID(), r: { ...usageRecord('spill-"b"\n'), vapi: { callId: 'c1' } } },
    ];
    const file = spillTo(dir)(records);
    assert.equal(join(dir, SPILL_DIR_NAME), join(file, '..'));
    assert.deepEqual(readdirSync(join(dir, SPILL_DIR_NAME)), [file.split('/').pop()], 'no temporary file left');
    const back = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      back.map((p) => p.id),
      records.map((p) => p.id),
    );
    assert.equal(back[1].r.requestId, 'spill-"b"\n');
  });
});

for (const backend of backends()) {
  describe(`shutdown while the database hangs, on ${backend.name}`, {
    skip: needs(`the ${backend.name} backend`, backend.unavailable),
  }, () => {
    after(() => backend.cleanup());

    it('finishes while RequestLog is locked, saves the unwritten records, and the next start writes each once', {
      timeout: 180_000,
    }, async () => {
      const env: Record<string, string> = {
        ...(await backend.fresh()),
        PARLEY_DATA_DIR: mkdtempSync(join(tmpdir(), 'parley-shutdown-')),
      };
      const p = await startStoreParley({
        ...env,
        PARLEY_API_KEYS: KEY,
        PARLEY_USAGE_FLUSH_MS: '50',
        PARLEY_DB_WRITE_TIMEOUT_MS: '1000',
        PARLEY_SHUTDOWN_FLUSH_MS: '1500',
      });
      const e = p.store.db.embedded;
      const locker = new pg.Client(
        e
          ? { host: e.socketDir, port: e.port, user: 'postgres', database: 'postgres' }
          : { connectionString: env.DATABASE_URL },
      );
      locker.on('error', () => {}); // its server goes away during the test (embedded)
      await locker.connect();
      const ids = Array.from({ length: 20 }, (_, i) => `locked-${i}`);
      try {
        // One row written before the lock: it must still be there, once, at the end.
        await (
          await postJson(
            `${p.url}/v1/chat/completions`,
            { model: 'default', messages: [{ role: 'user', content: 'x' }] },
            { authorization: `Bearer ${KEY}`, 'x-request-id': 'before-lock' },
          )
        ).text();
        await eventually(() => p.store.usage.pending === 0, 'the first row written');
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE "RequestLog" IN ACCESS EXCLUSIVE MODE');
        for (const rid of ids) {
          const res = await postJson(
            `${p.url}/v1/chat/completions`,
            { model: 'default', messages: [{ role: 'user', content: 'x' }] },
            { authorization: `Bearer ${KEY}`, 'x-request-id': rid },
          );
          assert.equal(res.status, 200);
          await res.text();
        }
        // Writes are attempted, time out and are retried: the records wait in the buffer.
        await eventually(
          () => p.logs.some((l) => /writing usage records failed/.test(l.msg)),
          'a write given up after PARLEY_DB_WRITE_TIMEOUT_MS',
          30_000,
        );
        assert.equal(p.store.usage.pending, ids.length);

        await bounded(p.close(), 60_000, 'shutdown with RequestLog locked');
        const spill = p.logs.find((l) => l.spilled !== undefined);
        assert.equal(spill?.spilled, ids.length, 'every unwritten record saved, and the count logged');
        assert.ok(existsSync(String(spill.file)));
      } finally {
        await locker.query('ROLLBACK').catch(() => {});
        await locker.end().catch(() => {});
        await p.close(); // (already done when the test got that far)
      }

      // The next start writes them.
      const { log, lines } = captureLogger();
      const store = await openStore(testSettings(env), log);
      try {
        const { rows } = await store.db.pool.query(
          `SELECT "requestId", count(*)::int AS n FROM "RequestLog" GROUP BY 1 ORDER BY 1`,
        );
        assert.deepEqual(rows.map((r) => r.requestId).sort(), ['before-lock', ...ids].sort());
        assert.ok(
          rows.every((r) => r.n === 1),
          'each once',
        );
        assert.deepEqual(
          readdirSync(join(env.PARLEY_DATA_DIR!, SPILL_DIR_NAME)),
          [],
          'the file is removed once written',
        );
        assert.ok(lines.some((l) => l.records === ids.length && /earlier shutdown/.test(l.msg)));
      } finally {
        await store.close();
        rmSync(env.PARLEY_DATA_DIR!, { recursive: true, force: true });
      }
    });

    it('replays a spill file whose rows are partly in already (a write that committed after its deadline), each once', {
      timeout: 120_000,
    }, async () => {
      const env = { ...(await backend.fresh()), PARLEY_DATA_DIR: mkdtempSync(join(tmpdir(), 'parley-shutdown-')) };
      const records = Array.from({ length: 5 }, (_, i) => ({ id: randomUUID(), r: usageRecord(`partly-${i}`) }));
      const first = await openStore(testSettings(env), captureLogger().log);
      try {
        // Two of them were committed by a write the shutdown had given up on.
        await first.db.pool.query(
          `INSERT INTO "RequestLog" (id, "requestId", route, stream, status, "durationMs", "clientAborted", fallback, "createdAt") SELECT unnest($1::uuid[]), unnest($2::text[]), 'openai', false, 200, 1, false, false, now()`,
          [records.slice(0, 2).map((p) => p.id), records.slice(0, 2).map((p) => p.r.requestId)],
        );
      } finally {
        await first.close();
      }
      // ...and all five were saved to the spill file.
      spillTo(env.PARLEY_DATA_DIR)(records);
      const store = await openStore(testSettings(env), captureLogger().log);
      try {
        const { rows } = await store.db.pool.query(
          `SELECT "requestId", count(*)::int AS n FROM "RequestLog" GROUP BY 1`,
        );
        assert.deepEqual(
          rows.map((r) => r.requestId).sort(),
          records.map((p) => p.r.requestId),
        );
        assert.ok(rows.every((r) => r.n === 1));
      } finally {
        await store.close();
        rmSync(env.PARLEY_DATA_DIR, { recursive: true, force: true });
      }
    });

    it('keeps an unreadable spill file aside instead of deleting it or failing the start', {
      timeout: 120_000,
    }, async () => {
      const env = { ...(await backend.fresh()), PARLEY_DATA_DIR: mkdtempSync(join(tmpdir(), 'parley-shutdown-')) };
      const dir = join(env.PARLEY_DATA_DIR, SPILL_DIR_NAME);
      mkdirSync(dir);
      writeFileSync(join(dir, 'broken.jsonl'), '{"id": "x", "r": {\n');
      const { log, lines } = captureLogger();
      const store = await openStore(testSettings(env), log);
      try {
        assert.deepEqual(readdirSync(dir), ['broken.jsonl.unreadable']);
        assert.ok(lines.some((l) => l.level === 50 && /could not be read/.test(l.msg)));
      } finally {
        await store.close();
        rmSync(env.PARLEY_DATA_DIR, { recursive: true, force: true });
      }
    });
  });
}
