/**
 * The embedded database's usage writer: each batch becomes a CSV file in the database's
 * own directory, loaded with `COPY … FROM '<file>'` through the ordinary connection.
 *
 * Why: per row, PGlite spends ~19 µs on COPY against ~28 µs on the multi-row INSERT, and
 * the INSERT's array parameters (one per column) also cost serialization here and message parsing in
 * the worker (scripts/measure-usage-insert.ts). On one shared core that is the largest
 * single cost of a request (docs/benchmarks.md). PGlite reads the file through its
 * filesystem mount of the data directory; the statement itself goes through the socket
 * like any other, so the worker's multiplexer keeps it out of other connections'
 * transactions.
 *
 * Exactly once: COPY commits all rows or none, but it has no ON CONFLICT. A batch can meet
 * rows that are already in: an earlier attempt committed but its reply was lost (or came
 * after the write timeout), and the retry carries those rows plus newer ones. Then COPY
 * fails on the primary key, nothing of it is written, and the same batch goes again as
 * the INSERT … ON CONFLICT DO NOTHING that PostgreSQL's writer uses, which writes exactly
 * the missing rows. That costs only the rare retry, nothing on the normal path.
 *
 * Each attempt has its own file: a COPY that timed out on the client may still run in the
 * worker later, and must find either its own complete file or none (never a retry's file
 * half-written).
 */
import { readdirSync, rmSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { boundedWrite } from './bounded-write.js';
import { type BatchWriter, COLUMN_LIST, COLUMNS, columnValue, insertWriter, type PendingRecord } from './usage-sink.js';

/** Batch files are named `<prefix><n>.csv` in the data directory (PostgreSQL ignores files it does not know there). */
export const COPY_FILE_PREFIX = 'parley-usage-batch-';

/** One CSV field: NULL is an empty unquoted field, every string is quoted ('' stays ''). */
function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return `"${v.replaceAll('"', '""')}"`;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

export function csvOf(batch: PendingRecord[]): string {
  let out = '';
  for (const p of batch) {
    for (let i = 0; i < COLUMNS.length; i++) out += (i ? ',' : '') + csvField(columnValue(p, COLUMNS[i]!));
    out += '\n';
  }
  return out;
}

export interface CopyWriterOptions {
  /** The PGlite data directory on this machine, where the batch files are written. */
  hostDir: string;
  /** The same directory as PGlite sees it (its `SHOW data_directory`). */
  serverDir: string;
  /** Longest one write may take (the client stops waiting, see ./bounded-write.ts). */
  timeoutMs: number;
}

export function copyFileWriter(pool: pg.Pool, opts: CopyWriterOptions): BatchWriter {
  // Left by a process that was killed mid-batch: their rows are either in or lost with it.
  for (const f of readdirSync(opts.hostDir))
    if (f.startsWith(COPY_FILE_PREFIX)) rmSync(join(opts.hostDir, f), { force: true });
  const insert = insertWriter(pool, opts.timeoutMs);
  let attempt = 0;
  return async (batch, signal) => {
    const name = `${COPY_FILE_PREFIX}${++attempt}.csv`;
    const hostPath = join(opts.hostDir, name);
    const sql = `COPY "RequestLog" (${COLUMN_LIST}) FROM '${`${opts.serverDir}/${name}`.replaceAll("'", "''")}' WITH (FORMAT csv)`;
    await writeFile(hostPath, csvOf(batch));
    try {
      // PGlite has no statement timer: the bound is the client's, and the statement its own transaction.
      await boundedWrite(pool, { text: sql }, { timeoutMs: opts.timeoutMs, signal, serverTimeout: false });
    } catch (err) {
      const e = err as { code?: string; constraint?: string };
      if (e.code !== '23505' || e.constraint !== 'RequestLog_pkey') throw err;
      await insert(batch, signal); // some rows are in already: write the others
    } finally {
      await rm(hostPath, { force: true });
    }
  };
}
