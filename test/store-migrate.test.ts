/**
 * The startup migration runner: applies prisma/migrations once each, records them the way
 * Prisma does, survives two instances starting together, and rolls a failed one back.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { type Database, openDatabase } from '../src/store/database.js';
import { openStore } from '../src/store/index.js';
import { MIGRATIONS_DIR, MigrationError, migrate, readMigrations } from '../src/store/migrate.js';

/** The models schema.prisma declares: the tables the migrations must make. */
const MODELS = [
  ...readFileSync(new URL('../prisma/schema.prisma', import.meta.url), 'utf8').matchAll(/^model (\w+) \{/gm),
].map((m) => m[1]!);

import { socketDirFor } from '../src/store/pglite.js';
import { needs } from './helpers/prerequisites.js';
import { backends, captureLogger, testSettings } from './helpers/store.js';

const silent = pino({ level: 'silent' });

async function open(env: Record<string, string>): Promise<Database> {
  return openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.PARLEY_DATA_DIR ?? '', log: silent });
}

/** A second pool onto the same database (another replica's connections). */
function secondPool(db: Database, env: Record<string, string>): pg.Pool {
  const o = db.pool.options;
  return env.DATABASE_URL
    ? new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 })
    : new pg.Pool({ host: o.host, port: o.port, user: o.user, database: o.database, max: 2 });
}

async function tables(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ t: string }>(
    `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`,
  );
  return rows.map((r) => r.t);
}

for (const backend of backends()) {
  describe(`migration runner on ${backend.name}`, {
    skip: needs(`the ${backend.name} backend`, backend.unavailable),
  }, () => {
    after(() => backend.cleanup());

    it('applies each migration once and records it as Prisma does', async () => {
      const db = await open(await backend.fresh());
      try {
        const first = await migrate(db.pool, silent);
        assert.deepEqual(
          first,
          readMigrations().map((m) => m.name),
        );
        assert.match(first[0]!, /^\d{14}_init$/);
        assert.deepEqual(await migrate(db.pool, silent), [], 'nothing left to apply');
        // Every model schema.prisma declares (no @@map in it), and Prisma's own table.
        assert.deepEqual(await tables(db.pool), [...MODELS, '_prisma_migrations'].sort());

        const { rows } = await db.pool.query('SELECT * FROM "_prisma_migrations"');
        assert.equal(rows.length, first.length);
        const row = rows[0];
        const file = readFileSync(join(MIGRATIONS_DIR, first[0]!, 'migration.sql'));
        assert.equal(row.checksum, createHash('sha256').update(file).digest('hex'));
        assert.equal(row.migration_name, first[0]);
        assert.ok(row.finished_at instanceof Date);
        assert.ok(row.started_at instanceof Date);
        assert.equal(row.rolled_back_at, null);
        assert.equal(row.logs, null);
        assert.equal(row.applied_steps_count, 1);
        assert.match(row.id, /^[0-9a-f-]{36}$/);
        // Prisma's column set and types, so `prisma migrate deploy` can read the table.
        const cols = await db.pool.query(
          `SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
        );
        assert.deepEqual(
          cols.rows.map((c) => `${c.column_name} ${c.data_type} ${c.is_nullable}`),
          [
            'id character varying NO',
            'checksum character varying NO',
            'finished_at timestamp with time zone YES',
            'migration_name character varying NO',
            'logs text YES',
            'rolled_back_at timestamp with time zone YES',
            'started_at timestamp with time zone NO',
            'applied_steps_count integer NO',
          ],
        );
      } finally {
        await db.close();
      }
    });

    it('is safe when two instances migrate the same fresh database at once', async () => {
      const env = await backend.fresh();
      const db = await open(env);
      const other = secondPool(db, env);
      try {
        const [a, b] = await Promise.all([migrate(db.pool, silent), migrate(other, silent)]);
        // One of them applied everything, the other waited for the lock and found nothing to do.
        assert.deepEqual(
          [...a, ...b].sort(),
          readMigrations()
            .map((m) => m.name)
            .sort(),
        );
        const { rows } = await db.pool.query(
          'SELECT migration_name, count(*)::int AS n FROM "_prisma_migrations" GROUP BY 1',
        );
        assert.ok(rows.every((r) => r.n === 1));
        assert.equal(rows.length, readMigrations().length);
      } finally {
        await other.end();
        await db.close();
      }
    });

    if (backend.name === 'postgres') {
      it('lets two whole Parley stores start together on one fresh database', async () => {
        const env = await backend.fresh();
        const settings = testSettings(env);
        const [s1, s2] = await Promise.all([openStore(settings, silent), openStore(settings, silent)]);
        try {
          const { rows } = await s1.db.pool.query('SELECT count(*)::int AS n FROM "_prisma_migrations"');
          assert.equal(rows[0].n, readMigrations().length);
          const made = await s1.db.prisma.todo.create({ data: { title: 'from one' } });
          assert.equal((await s2.db.prisma.todo.findUnique({ where: { id: made.id } }))?.title, 'from one');
        } finally {
          await s1.close();
          await s2.close();
        }
      });
    }

    it('rolls a failing migration back completely and applies it once fixed', async () => {
      const db = await open(await backend.fresh());
      try {
        await migrate(db.pool, silent);
        const bad = {
          name: '29990101000000_broken',
          sql: 'CREATE TABLE "Half" (id int);\nSELECT no_such_function();',
          checksum: 'x'.repeat(64),
        };
        await assert.rejects(
          migrate(db.pool, silent, [...readMigrations(), bad]),
          (err: Error) => err instanceof MigrationError && /29990101000000_broken/.test(err.message),
        );
        assert.ok(!(await tables(db.pool)).includes('Half'), 'the half-done migration left nothing');
        const recorded = await db.pool.query(`SELECT 1 FROM "_prisma_migrations" WHERE migration_name = $1`, [
          bad.name,
        ]);
        assert.equal(recorded.rowCount, 0);

        const fixed = { ...bad, sql: 'CREATE TABLE "Half" (id int);' };
        assert.deepEqual(await migrate(db.pool, silent, [...readMigrations(), fixed]), [bad.name]);
        assert.ok((await tables(db.pool)).includes('Half'));
      } finally {
        await db.close();
      }
    });

    it('warns about an applied migration whose file changed, and refuses a failed one left by the Prisma CLI', async () => {
      const db = await open(await backend.fresh());
      try {
        await migrate(db.pool, silent);
        const { log, lines } = captureLogger('warn');
        const edited = readMigrations().map((m) => ({ ...m, checksum: '0'.repeat(64) }));
        await migrate(db.pool, log, edited);
        assert.ok(lines.some((l) => /edited since it ran/.test(l.msg)));

        await db.pool.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ('cli-failed', 'x', '29990101000000_cli', now())`,
        );
        await assert.rejects(migrate(db.pool, silent), /29990101000000_cli.*recorded as failed/);
      } finally {
        await db.close();
      }
    });
  });
}

describe('embedded database ownership', () => {
  const backend = backends()[0]!;
  after(() => backend.cleanup());

  it('refuses a second process on the same data dir instead of corrupting it', async () => {
    const env = await backend.fresh();
    const db = await open(env);
    try {
      await assert.rejects(open(env), /already in use/);
    } finally {
      await db.close();
    }
    // Once the first is closed, the data dir can be opened again.
    const again = await open(env);
    await again.close();
  });

  it('works from a data dir too deep for a Unix socket path', async () => {
    const env = await backend.fresh();
    const deep = join(env.PARLEY_DATA_DIR!, 'a'.repeat(60), 'b'.repeat(60));
    assert.notEqual(socketDirFor(deep), deep, 'the socket goes elsewhere');
    const db = await open({ PARLEY_DATA_DIR: deep });
    try {
      await migrate(db.pool, silent);
      assert.ok((await tables(db.pool)).includes('Todo'));
      await assert.rejects(open({ PARLEY_DATA_DIR: deep }), /already in use/);
    } finally {
      await db.close();
    }
  });
});
