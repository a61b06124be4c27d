/**
 * Measures how long a 500-row insert blocks the main event loop with the embedded database:
 * (a) PGlite in this thread (what Parley avoids), (b) PGlite in a worker thread behind
 * pglite-socket, reached through `pg` + Prisma (what Parley does).
 * Run: npx tsx scripts/measure-pglite-stall.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pino from 'pino';
import { openDatabase } from '../src/store/database.js';
import { migrate, readMigrations } from '../src/store/migrate.js';

const ROWS = Number(process.env.ROWS ?? 500);
const ROUNDS = Number(process.env.ROUNDS ?? 30);

function rows() {
  return Array.from({ length: ROWS }, (_, i) => ({
    requestId: `req_${i}`,
    keyId: 'env:0',
    route: 'openai',
    requestedModel: 'gpt-4o-mini',
    provider: 'openai',
    upstreamModel: 'gpt-4o-mini',
    stream: i % 2 === 0,
    status: 200,
    promptTokens: 10,
    completionTokens: 20,
    totalTokens: 30,
    durationMs: 12.5,
  }));
}

/** One INSERT with bound parameters, as the usage sink writes a batch. */
function paramInsert(n: number): [string, unknown[]] {
  const cols = 12;
  const tuples: string[] = [];
  const params: unknown[] = [];
  for (let i = 0; i < n; i++) {
    tuples.push(`(${Array.from({ length: cols }, (_, j) => `$${i * cols + j + 1}`).join(',')})`);
    params.push(`req_${i}`, 'env:0', 'openai', 'gpt-4o-mini', 'openai', 'gpt-4o-mini', i % 2 === 0, 200, 10, 20, 30, 12.5);
  }
  const sql = `INSERT INTO "RequestLog" ("requestId","keyId","route","requestedModel","provider","upstreamModel","stream","status","promptTokens","completionTokens","totalTokens","durationMs") VALUES ${tuples.join(',')}`;
  return [sql, params];
}

/**
 * Longest the event loop went without a turn (ms) while `work` ran: a setImmediate chain
 * records the gap between consecutive turns, so any synchronous stretch shows up whole.
 */
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

const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(1);
  return `median ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${s[s.length - 1]!.toFixed(1)} ms`;
};

const dir = mkdtempSync(join(tmpdir(), 'parley-stall-'));
const log = pino({ level: 'silent' });
try {
  // (a) In-thread PGlite, same schema.
  const inline = await PGlite.create(join(dir, 'inline'));
  for (const m of readMigrations()) await inline.exec(m.sql);
  const insertSql = (n: number) => {
    const values: string[] = [];
    for (let i = 0; i < n; i++) values.push(`('req_${i}', 'env:0', 'openai', 'gpt-4o-mini', 'openai', 'gpt-4o-mini', ${i % 2 === 0}, 200, 10, 20, 30, 12.5)`);
    return `INSERT INTO "RequestLog" ("requestId","keyId","route","requestedModel","provider","upstreamModel","stream","status","promptTokens","completionTokens","totalTokens","durationMs") VALUES ${values.join(',')}`;
  };
  const a: number[] = [];
  for (let i = 0; i < ROUNDS; i++) a.push(await maxStall(() => inline.exec(insertSql(ROWS))));
  const a2: number[] = [];
  const [paramSql, params] = paramInsert(ROWS);
  for (let i = 0; i < ROUNDS; i++) a2.push(await maxStall(() => inline.query(paramSql, params)));
  await inline.close();

  // (b) Worker + socket + pg + Prisma createMany (Parley's path).
  const db = await openDatabase({ dataDir: join(dir, 'worker'), log });
  await migrate(db.pool, log);
  const data = rows();
  await db.prisma.requestLog.createMany({ data }); // warm-up: Prisma loads its query compiler on first use
  const b: number[] = [];
  for (let i = 0; i < ROUNDS; i++) b.push(await maxStall(() => db.prisma.requestLog.createMany({ data })));
  const c: number[] = [];
  for (let i = 0; i < ROUNDS; i++) c.push(await maxStall(() => db.pool.query(paramSql, params)));
  await db.close();

  console.log(`${ROWS}-row insert, main event-loop stall over ${ROUNDS} rounds:`);
  console.log(`  PGlite in the main thread, literal SQL:     ${summary(a)}`);
  console.log(`  PGlite in the main thread, bound params:   ${summary(a2)}`);
  console.log(`  PGlite in a worker, Prisma createMany: ${summary(b)}`);
  console.log(`  PGlite in a worker, pg bound params:   ${summary(c)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
