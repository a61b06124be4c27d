/**
 * Tests leave nothing in the temp dir: the store helpers remove the data dirs and databases they
 * made, and the embedded database removes the temp socket folder it makes for a data dir whose
 * path is too long for a Unix socket. Run against a private temp dir (os.tmpdir() follows TMPDIR),
 * so what other runs leave cannot hide or fake a leftover.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { openDatabase } from '../src/store/database.js';
import { socketDirFor } from '../src/store/pglite.js';
import { needs } from './helpers/prerequisites.js';
import { backends, gql, startStoreParley } from './helpers/store.js';

/** What is left in `dir`, but tsx's compile cache (tsx-<uid>: the test runner's, shared by every run). */
const leftovers = (dir: string) => readdirSync(dir).filter((f) => !/^tsx-\d+$/.test(f));

describe('temp dir after the store helpers', () => {
  const outer = tmpdir();
  const previous = process.env.TMPDIR;
  let mine: string;
  before(() => {
    mine = mkdtempSync(join(outer, 'parley-cleanup-check-'));
    process.env.TMPDIR = mine;
    assert.equal(tmpdir(), mine);
  });
  after(() => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(mine, { recursive: true, force: true });
  });

  for (const backend of backends()) {
    it(`a Parley on a fresh ${backend.name} database, closed and cleaned up, leaves nothing`, {
      skip: needs(`the ${backend.name} backend`, backend.unavailable),
    }, async () => {
      const p = await startStoreParley(await backend.fresh());
      try {
        assert.deepEqual(
          (await gql(p.url, 'mutation { createTodo(title: "left behind?") { id } }')).body.errors,
          undefined,
        );
      } finally {
        await p.close();
        await backend.cleanup();
      }
      assert.deepEqual(leftovers(mine), []);
    });
  }

  it('an embedded database whose data dir is too deep for a socket path removes its temp socket folder on close', async () => {
    const [pglite] = backends();
    const { PARLEY_DATA_DIR: dir } = await pglite!.fresh();
    const deep = join(dir!, 'a'.repeat(60), 'b'.repeat(60));
    assert.notEqual(socketDirFor(deep), deep, 'the socket goes to a temp folder');
    try {
      const db = await openDatabase({ dataDir: deep, log: pino({ level: 'silent' }) });
      assert.ok(readdirSync(mine).includes(socketDirFor(deep).split('/').pop()!), 'the temp socket folder is made');
      await db.close();
    } finally {
      await pglite!.cleanup();
    }
    assert.deepEqual(leftovers(mine), []);
  });
});
