/**
 * Persistence for Parley: opens the database, applies pending migrations, writes the usage
 * records an earlier shutdown saved to a file, loads the database keys and starts the usage
 * writer. What it opens (key source, usage sink, database) is wired into the server by the
 * composition root, server.ts: the store imports neither the server nor GraphQL.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Settings } from '../config/env.js';
import { type Database, openDatabase } from './database.js';
import { DbKeys } from './db-keys.js';
import { migrate } from './migrate.js';
import { DbResponseStore } from './responses.js';
import { copyFileWriter } from './usage-copy.js';
import { BatchedUsageSink, type BatchWriter, insertWriter } from './usage-sink.js';
import { replaySpilled, spillTo } from './usage-spill.js';

export interface Store {
  db: Database;
  keys: DbKeys;
  usage: BatchedUsageSink;
  /** Stored Responses API responses (store: true). */
  responses: DbResponseStore;
  /**
   * Writes what's buffered (within PARLEY_SHUTDOWN_FLUSH_MS, the rest to the spill file),
   * stops the timers, closes the database; each database step bounded, so it can't hang.
   */
  close(): Promise<void>;
}

export async function openStore(settings: Settings, log: FastifyBaseLogger): Promise<Store> {
  const db = await openDatabase({ databaseUrl: settings.databaseUrl, dataDir: settings.dataDir, log });
  try {
    await migrate(db.pool, log);
    // Before serving, so a database that can't take them is noticed at once (the file stays).
    await replaySpilled(settings.dataDir, insertWriter(db.pool, settings.dbWriteTimeoutMs), log);
    const keys = new DbKeys(db.prisma, log, settings.keyRefreshMs);
    await keys.start();
    const usage = new BatchedUsageSink(await usageWriter(db, settings.dbWriteTimeoutMs), log, {
      maxBuffer: settings.usageBufferMax,
      flushIntervalMs: settings.usageFlushMs,
      flushTimeoutMs: settings.shutdownFlushMs,
      spill: spillTo(settings.dataDir),
    });
    const bound = settings.dbWriteTimeoutMs;
    let closing: Promise<void> | undefined;
    return {
      db,
      keys,
      usage,
      responses: new DbResponseStore(db.prisma),
      close() {
        closing ??= (async () => {
          await usage.flush();
          usage.close();
          await within(keys.stop(), bound, 'writing key lastUsedAt', log);
          await within(db.close(), bound, 'closing the database', log);
        })();
        return closing;
      },
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}

/** COPY from a file for the embedded database (cheaper per row), a multi-row INSERT for PostgreSQL. */
async function usageWriter(db: Database, timeoutMs: number): Promise<BatchWriter> {
  if (!db.embedded) return insertWriter(db.pool, timeoutMs);
  // Where PGlite sees its data directory (its own filesystem), asked rather than assumed.
  const { rows } = await db.pool.query<{ data_directory: string }>('SHOW data_directory');
  return copyFileWriter(db.pool, { hostDir: db.embedded.dataDir, serverDir: rows[0]!.data_directory, timeoutMs });
}

/** A shutdown step that may not hold the exit up: waits at most `ms`, logs a failure or the wait. */
async function within(step: Promise<void>, ms: number, what: string, log: FastifyBaseLogger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => {
    timer = setTimeout(() => r('late'), ms);
  });
  try {
    const outcome = await Promise.race([
      step.then(
        () => 'done' as const,
        (err: Error) => err,
      ),
      late,
    ]);
    if (outcome === 'late')
      log.warn(`${what} took longer than PARLEY_DB_WRITE_TIMEOUT_MS (${ms} ms); not waiting for it`);
    else if (outcome instanceof Error) log.warn({ err: outcome.message }, `${what} failed`);
  } finally {
    clearTimeout(timer);
  }
}
