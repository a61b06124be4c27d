/**
 * One process per embedded data dir: the lock file is created exclusively before anything
 * in the directory is opened, so of two openings started together exactly one goes on and
 * the other fails at once, naming PARLEY_DATA_DIR and the fix; a lock left by a process
 * that is gone is taken over.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { SettingsError } from '../src/config/env.js';
import { LOCK_FILE_NAME } from '../src/store/data-dir-lock.js';
import { type Database, openDatabase } from '../src/store/database.js';

const silent = pino({ level: 'silent' });
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'parley-lock-'));
  dirs.push(d);
  return d;
};
const open = (dataDir: string) => openDatabase({ dataDir, log: silent });

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  assert.ok(r.pid);
  return r.pid;
}

describe('embedded data dir lock', () => {
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('lets exactly one of two openings started together through; the other fails before any file is opened', async () => {
    const dataDir = tempDir();
    const settled: string[] = [];
    const attempts = [open(dataDir), open(dataDir)].map((p, i) =>
      p.then(
        (db) => {
          settled.push(`opened ${i}`);
          return db;
        },
        (err: Error) => {
          // The loser must not have got as far as creating the database files.
          settled.push(
            `failed ${i}${existsSync(join(dataDir, 'pglite', 'PG_VERSION')) ? ' after the files were created' : ''}`,
          );
          throw err;
        },
      ),
    );
    const results = await Promise.allSettled(attempts);
    const opened = results.filter((r): r is PromiseFulfilledResult<Database> => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    try {
      assert.equal(opened.length, 1, 'exactly one opened');
      assert.equal(failed.length, 1);
      const err = failed[0]!.reason as Error;
      assert.ok(err instanceof SettingsError, `a settings error (one line at startup), got ${err}`);
      assert.match(err.message, /PARLEY_DATA_DIR=.* is already in use by this process.*DATABASE_URL/);
      assert.match(settled[0]!, /^failed \d$/, `the loser fails first, before the files exist (${settled.join(', ')})`);
      await opened[0]!.value.pool.query('SELECT 1');
    } finally {
      for (const o of opened) await o.value.close();
    }
    assert.ok(!existsSync(join(dataDir, LOCK_FILE_NAME)), 'closing releases the lock');
    const again = await open(dataDir);
    await again.close();
  });

  it('refuses a data dir whose lock is held by another live process, naming it', async () => {
    const dataDir = tempDir();
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dataDir, LOCK_FILE_NAME), `${other.pid}\n\n`);
      await assert.rejects(
        open(dataDir),
        (err: Error) =>
          err instanceof SettingsError &&
          new RegExp(`another Parley \\(pid ${other.pid}\\)`).test(err.message) &&
          /PARLEY_DATA_DIR/.test(err.message),
      );
      assert.ok(!existsSync(join(dataDir, 'pglite')), 'nothing was opened or created');
    } finally {
      other.kill();
      await once(other, 'exit');
    }
  });

  it('takes over a lock left by a process that is gone (kill -9), or by an earlier process with this pid', async () => {
    for (const pid of [deadPid(), process.pid]) {
      const dataDir = tempDir();
      writeFileSync(join(dataDir, LOCK_FILE_NAME), `${pid}\n\n`);
      const db = await open(dataDir);
      try {
        assert.match(
          readFileSync(join(dataDir, LOCK_FILE_NAME), 'utf8'),
          new RegExp(`^${process.pid}\\n`),
          'the lock is ours now',
        );
      } finally {
        await db.close();
      }
    }
  });

  it('takes over a lock whose pid now belongs to an unrelated process (a pid reused after a restart)', {
    skip: process.platform === 'linux' ? false : 'process start times are read from /proc (Linux only)',
  }, async () => {
    const dataDir = tempDir();
    // The parent process is alive, but it started at another time than the lock's owner did.
    writeFileSync(join(dataDir, LOCK_FILE_NAME), `${process.ppid}\n1\n`);
    const db = await open(dataDir);
    await db.close();
  });
});
