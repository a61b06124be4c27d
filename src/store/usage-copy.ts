/**
 * The embedded database's usage writer: each batch becomes a CSV file in the database's
 * own directory, loaded with `COPY … FROM '<file>'` through the ordinary connection.
 *
 * Why: per row, PGlite spends ~19 µs on COPY against ~28 µs on the multi-row INSERT, and
 * the INSERT's 21 array parameters also cost serialization here and message parsing in
 * the worker (scripts/measure-usage-insert.ts). On one shared core that is the largest
 * single cost of a request (docs/benchmarks.md). PGlite reads the file through its
 * filesystem mount of the data directory; the statement itself goes through the socket
 * like any other, so the worker's multiplexer keeps it out of other connections'
 * transactions.
 *
 * Exactly once: COPY commits all rows or none. A retry after an ambiguous failure (the
 * COPY committed but the reply was lost) meets the first attempt's ids, which nothing else
 * ever uses, and fails with a unique violation on the primary key: that batch is written.
 */
import { rm, writeFile } from 'node:fs/promises';
import type pg from 'pg';
import { COLUMN_LIST, COLUMNS, columnValue, type BatchWriter, type PendingRecord } from './usage-sink.js';

/** The file's name in the data directory (PostgreSQL ignores files it does not know there). */
export const COPY_FILE_NAME = 'parley-usage-batch.csv';

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

/**
 * @param hostPath where this process writes the file (inside the PGlite data directory)
 * @param serverPath the same file as PGlite sees it (under its `SHOW data_directory`)
 */
export function copyFileWriter(pool: pg.Pool, hostPath: string, serverPath: string): BatchWriter {
  const sql = `COPY "RequestLog" (${COLUMN_LIST}) FROM '${serverPath.replaceAll("'", "''")}' WITH (FORMAT csv)`;
  return async (batch) => {
    await writeFile(hostPath, csvOf(batch));
    try {
      await pool.query(sql);
    } catch (err) {
      const e = err as { code?: string; constraint?: string };
      if (e.code === '23505' && e.constraint === 'RequestLog_pkey') return; // written by an earlier attempt
      throw err;
    } finally {
      await rm(hostPath, { force: true });
    }
  };
}
