/**
 * The embedded database's footprint: files are created by a worker that exits before the
 * serving worker opens them (initdb's WebAssembly memory would otherwise stay resident), and
 * the serving instance runs with small PostgreSQL buffers. The RSS these save is measured by
 * `npm run bench` (docs/benchmarks.md), not here.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { openDatabase } from '../src/store/database.js';
import { initDataDir, socketDirFor } from '../src/store/pglite.js';

/** docs/data.md: "The serving worker's thread runs at nice 5 (Linux)". */
const DOCUMENTED_WORKER_NICE = 5;

const silent = pino({ level: 'silent' });
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'parley-embedded-'));
  dirs.push(d);
  return d;
};

// At the top level: the worker priority suite below makes a data dir too, after the first suite ends.
after(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('embedded database (PGlite)', () => {
  it('creates a new data dir in a worker that then exits', async () => {
    const dataDir = tempDir();
    const socketPath = join(socketDirFor(dataDir), '.s.PGSQL.5432');
    // Resolves only once the init worker has exited with code 0.
    await initDataDir({ dataDir: join(dataDir, 'pglite'), socketPath, maxConnections: 1, mode: 'serve' });
    assert.ok(existsSync(join(dataDir, 'pglite', 'PG_VERSION')), 'the database files exist');
    assert.ok(!existsSync(socketPath), 'the init worker serves nothing');
    assert.ok(readdirSync(join(dataDir, 'pglite', 'base')).length > 0);
  });

  it('serves a new and an existing data dir with 16 MB of shared buffers', async () => {
    const dataDir = tempDir();
    for (const round of ['new', 'existing']) {
      const db = await openDatabase({ dataDir, log: silent });
      try {
        const { rows } = await db.pool.query<{ shared_buffers: string }>('SHOW shared_buffers');
        assert.equal(rows[0]!.shared_buffers, '16MB', `${round} data dir`);
        await db.pool.query(round === 'new' ? 'CREATE TABLE kept (x int)' : 'SELECT * FROM kept');
      } finally {
        await db.close();
      }
    }
  });
});

describe('embedded database worker priority', {
  skip: process.platform === 'linux' ? false : 'thread priorities are set through /proc (Linux only)',
}, () => {
  it('runs the serving worker thread at a lower priority than the request thread', async () => {
    const niceOf = (tid: string) =>
      Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
    const before = readdirSync('/proc/self/task').filter((t) => niceOf(t) === DOCUMENTED_WORKER_NICE);
    const db = await openDatabase({ dataDir: tempDir(), log: silent });
    try {
      const after = readdirSync('/proc/self/task').filter(
        (t) => niceOf(t) === DOCUMENTED_WORKER_NICE && !before.includes(t),
      );
      assert.equal(after.length, 1, 'one new thread at the lower priority: the serving worker');
      assert.equal(niceOf(String(process.pid)), 0, 'the request thread keeps its priority');
    } finally {
      await db.close();
    }
  });
});
