/**
 * CPU cost per usage row in the embedded database, by how the rows are written.
 * PGlite runs each query synchronously in the calling thread, so thread CPU time per row
 * is what a write costs the core it shares with the request thread.
 * Run: node --import tsx scripts/measure-usage-insert.ts   (ROWS=20000 BATCH=200 by default; RELAXED=1 for relaxedDurability)
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { readMigrations } from '../src/store/migrate.js';
import { csvOf } from '../src/store/usage-copy.js';
import { COLUMN_LIST, insertStatement, type PendingRecord } from '../src/store/usage-sink.js';

const ROWS = Number(process.env.ROWS ?? 20000);
const BATCH = Number(process.env.BATCH ?? 200);

function record(i: number): PendingRecord {
  return {
    id: randomUUID(),
    r: {
      requestId: `req_${randomUUID()}`,
      keyId: 'env:0',
      route: 'openai',
      requestedModel: 'gpt-4o-mini',
      provider: 'openai',
      upstreamModel: 'gpt-4o-mini',
      stream: i % 2 === 0,
      status: 200,
      errorType: null,
      promptTokens: 10,
      completionTokens: 20,
      totalTokens: 30,
      ttftMs: 150.5,
      durationMs: 812.25,
      clientAborted: false,
      fallback: false,
      vapi: null,
      attempts: [{ provider: 'openai', model: 'gpt-4o-mini', outcome: 'answered', startMs: 0.4, ms: 120.2 }],
      usageEstimated: false,
      platform: null,
      callId: null,
      replayOf: null,
      costMicros: 1234,
      createdAt: new Date(),
    },
  };
}

/** The database directory of the measurement running now. */
let currentDir = '';

async function measure(
  name: string,
  setup: (db: PGlite) => Promise<void>,
  write: (db: PGlite, batch: PendingRecord[]) => Promise<unknown>,
  batchSize = BATCH,
) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-insert-'));
  currentDir = dir;
  const db = await PGlite.create(dir, { relaxedDurability: process.env.RELAXED === '1' });
  for (const m of readMigrations()) await db.exec(m.sql);
  await setup(db);
  await write(
    db,
    Array.from({ length: batchSize }, (_, i) => record(i)),
  ); // warm-up
  const batches = Array.from({ length: Math.ceil(ROWS / batchSize) }, () =>
    Array.from({ length: batchSize }, (_, i) => record(i)),
  );
  const t0 = process.cpuUsage();
  for (const b of batches) await write(db, b);
  const t = process.cpuUsage(t0);
  const us = (t.user + t.system) / (batches.length * batchSize);
  console.log(`${name.padEnd(48)} ${us.toFixed(1)} µs/row`);
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}

const unnest = (db: PGlite, b: PendingRecord[]) => {
  const s = insertStatement(b);
  return db.query(s.text, s.values);
};
const none = async () => {};
const dropSecondary = async (db: PGlite) => {
  await db.exec(
    `DROP INDEX "RequestLog_keyId_createdAt_idx"; DROP INDEX "RequestLog_requestedModel_createdAt_idx"; DROP INDEX "RequestLog_route_createdAt_idx"; DROP INDEX "RequestLog_vapiCallId_idx";`,
  );
};
await measure('unnest INSERT, all indexes', none, unnest);
await measure('unnest INSERT, all indexes, batch 1000', none, unnest, 1000);
await measure('unnest INSERT, only createdAt index', dropSecondary, unnest);
await measure(
  'unnest INSERT, no secondary indexes',
  async (db) => {
    await dropSecondary(db);
    await db.exec('DROP INDEX "RequestLog_createdAt_id_idx"');
  },
  unnest,
);
// What Parley does for the embedded database (src/store/usage-copy.ts): the batch as a CSV
// file in the data directory, loaded with COPY … FROM '<file>'. The file is written here too,
// so its cost is counted.
const COPY_FROM_FILE = `COPY "RequestLog" (${COLUMN_LIST}) FROM '/pglite/data/batch.csv' WITH (FORMAT csv)`;
const copyFromFile = async (db: PGlite, b: PendingRecord[]) => {
  writeFileSync(join(currentDir, 'batch.csv'), csvOf(b));
  return db.query(COPY_FROM_FILE);
};
await measure('COPY from a CSV file, all indexes', none, copyFromFile);
await measure('COPY from a CSV file, all indexes, batch 1000', none, copyFromFile, 1000);
