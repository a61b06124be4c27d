/**
 * A usage write can't hang and can't crash Parley: on PostgreSQL the server itself cancels
 * a write stuck behind a lock (nothing is left waiting there), the embedded database's
 * writes are bounded by the client, and a connection lost mid-write fails that write only.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { boundedWrite } from '../src/store/bounded-write.js';
import { type Database, openDatabase } from '../src/store/database.js';
import { migrate } from '../src/store/migrate.js';
import { insertStatement, type PendingRecord } from '../src/store/usage-sink.js';
import { needs } from './helpers/prerequisites.js';
import { eventually, pgliteBackend, pgOutage, postgresBackend } from './helpers/store.js';
import { sampleRecord } from './helpers/usage-record.js';

const silent = pino({ level: 'silent' });

function pending(): PendingRecord {
  return {
    id: randomUUID(),
    r: sampleRecord(`bounded-${randomUUID()}`, {
      promptTokens: null,
      completionTokens: null,
      totalTokens: null,
      createdAt: new Date(),
    }),
  };
}

/** Rejects if `p` hasn't settled after `ms`: bounds a hang, it doesn't time the work. */
function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms)),
    ),
  ]).finally(() => clearTimeout(timer));
}

const postgres = postgresBackend();
describe('bounded writes on PostgreSQL', { skip: needs('PostgreSQL', postgres.unavailable) }, () => {
  after(() => postgres.cleanup());

  it('are cancelled by the server when they wait on a lock, leaving nothing waiting there', {
    timeout: 60_000,
  }, async () => {
    const env = await postgres.fresh();
    const db = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: '', log: silent });
    const locker = new pg.Client({ connectionString: env.DATABASE_URL });
    await locker.connect();
    try {
      await migrate(db.pool, silent);
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE "RequestLog" IN ACCESS EXCLUSIVE MODE');
      // A client-side bound far beyond the server's: only statement_timeout can end it this soon.
      const write = boundedWrite(db.pool, insertStatement([pending()]), { timeoutMs: 300 });
      await assert.rejects(bounded(write, 30_000), /statement timeout/);
      const { rows } = await locker.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'INSERT INTO "RequestLog"%' AND state = 'active'`,
      );
      assert.equal(rows[0].n, 0, 'no INSERT left waiting for the lock');
    } finally {
      await locker.end();
      await db.close();
    }
  });

  it('fail, without crashing the process, when the connection is lost mid-write', { timeout: 60_000 }, async () => {
    const env = await postgres.fresh();
    const relay = await pgOutage(env.DATABASE_URL!);
    const db = await openDatabase({ databaseUrl: relay.url, dataDir: '', log: silent });
    const locker = new pg.Client({ connectionString: env.DATABASE_URL });
    await locker.connect();
    try {
      await migrate(db.pool, silent);
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE "RequestLog" IN ACCESS EXCLUSIVE MODE');
      const write = boundedWrite(db.pool, insertStatement([pending()]), { timeoutMs: 30_000 });
      write.catch(() => {});
      const waiting = async () => {
        await locker.query('SELECT pg_stat_clear_snapshot()'); // a transaction otherwise keeps its first view of pg_stat_activity
        return (
          (
            await locker.query(
              `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO "RequestLog"%'`,
            )
          ).rows[0].n === 1
        );
      };
      await eventually(waiting, 'the write waiting for the lock');
      await relay.down(); // every connection through the relay is cut
      await assert.rejects(bounded(write, 20_000), /Connection terminated/);
    } finally {
      await locker.end();
      await relay.close();
      await db.close();
    }
  });
});

describe('bounded writes on the embedded database', () => {
  const backend = pgliteBackend();
  let db: Database | undefined;
  after(async () => {
    await db?.close();
    await backend.cleanup();
  });

  it('are given up by the client, connecting included, while another connection holds the table', {
    timeout: 60_000,
  }, async () => {
    const env = await backend.fresh();
    db = await openDatabase({ dataDir: env.PARLEY_DATA_DIR!, log: silent });
    await migrate(db.pool, silent);
    const e = db.embedded!;
    const locker = new pg.Client({ host: e.socketDir, port: e.port, user: 'postgres', database: 'postgres' });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE "RequestLog" IN ACCESS EXCLUSIVE MODE');
      await assert.rejects(
        bounded(boundedWrite(db.pool, insertStatement([pending()]), { timeoutMs: 300, serverTimeout: false }), 30_000),
        /database write timed out|Query read timeout/,
      );
      const ac = new AbortController();
      const abandoned = boundedWrite(db.pool, insertStatement([pending()]), {
        timeoutMs: 60_000,
        serverTimeout: false,
        signal: ac.signal,
      });
      ac.abort();
      await assert.rejects(bounded(abandoned, 30_000), /abort/i);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
  });
});
