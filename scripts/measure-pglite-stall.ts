/**
 * How long does writing a batch of usage rows block the main event loop?
 *   (a) PGlite in this thread (what Parley avoids),
 *   (b) PGlite in a worker behind pglite-socket, through `pg`, with the usage writer's own
 *       INSERT (what Parley does),
 *   (c) the same through Prisma's createMany (why the writer doesn't use it).
 * The stall is the longest gap between event-loop turns while the insert runs.
 * Run: node --import tsx scripts/measure-pglite-stall.ts   (ROWS=500 ROUNDS=30 by default)
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pino from 'pino';
import { openDatabase } from '../src/store/database.js';
import { migrate, readMigrations } from '../src/store/migrate.js';
import { insertStatement, type PendingRecord } from '../src/store/usage-sink.js';

const ROWS = Number(process.env.ROWS ?? 500);
const ROUNDS = Number(process.env.ROUNDS ?? 30);

function batch(): PendingRecord[] {
  return Array.from({ length: ROWS }, (_, i) => ({
    id: randomUUID(),
    r: {
      requestId: `req_${i}`,
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
      vapi: i % 3 === 0 ? { callId: 'call_1', assistantId: 'asst_1', customerNumber: '+14155550123' } : null,
      attempts: [{ provider: 'openai', model: 'gpt-4o-mini', outcome: 'answered', startMs: 0.4, ms: 120.2 }],
      usageEstimated: false,
      platform: i % 3 === 0 ? 'vapi' : null,
      callId: i % 3 === 0 ? 'call_1' : null,
      replayOf: null,
      costMicros: 1234,
      createdAt: new Date(),
    },
  }));
}

/** Longest gap between event-loop turns (ms) while `work` runs: a setImmediate chain timestamps each turn. */
async function maxStall(work: () => Promise<unknown>): Promise<number> {
  let maxGap = 0;
  let last = performance.now();
  let running = true;
  const tick = () => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  await work();
  await new Promise((r) => setTimeout(r, 2));
  running = false;
  return maxGap;
}

async function rounds(work: () => Promise<unknown>): Promise<string> {
  await work(); // warm-up (Prisma loads its query compiler on first use)
  const xs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) xs.push(await maxStall(work));
  xs.sort((a, b) => a - b);
  const q = (p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!.toFixed(1);
  return `median ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${xs[xs.length - 1]!.toFixed(1)} ms`;
}

const dir = mkdtempSync(join(tmpdir(), 'parley-stall-'));
const log = pino({ level: 'silent' });
try {
  const inline = await PGlite.create(join(dir, 'inline'));
  for (const m of readMigrations()) await inline.exec(m.sql);
  const db = await openDatabase({ dataDir: join(dir, 'worker'), log });
  await migrate(db.pool, log);

  const a = await rounds(() => {
    const s = insertStatement(batch());
    return inline.query(s.text, s.values);
  });
  const b = await rounds(() => db.pool.query(insertStatement(batch())));
  const c = await rounds(() =>
    db.prisma.requestLog.createMany({
      data: batch().map(({ id, r }) => ({
        id,
        ...r,
        vapi: undefined,
        attempts: r.attempts ? JSON.parse(JSON.stringify(r.attempts)) : undefined,
      })),
    }),
  );
  await inline.close();
  await db.close();

  console.log(`${ROWS}-row insert, longest main event-loop stall, ${ROUNDS} rounds:`);
  console.log(`  (a) PGlite in the main thread:                  ${a}`);
  console.log(`  (b) PGlite in a worker, pg (Parley's writer):   ${b}`);
  console.log(`  (c) PGlite in a worker, Prisma createMany:      ${c}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
