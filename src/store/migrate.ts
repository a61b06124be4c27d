/**
 * Applies prisma/migrations at startup, so neither the embedded database nor a fresh
 * PostgreSQL needs the Prisma CLI (whose schema engine is downloaded from Prisma's host).
 *
 * It keeps Prisma's conventions, so `prisma migrate deploy`/`migrate dev` can take over:
 * - the same `_prisma_migrations` table and columns, checksum = SHA-256 (hex) of migration.sql;
 * - the same advisory lock key as Prisma's schema engine, so two Parley replicas (or Parley
 *   and the CLI) never migrate at once: the second waits, then finds nothing left to do.
 * Each migration runs in its own transaction together with its bookkeeping row: PostgreSQL
 * DDL is transactional, so a failed migration leaves no trace and the next start retries it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';

/** Prisma's schema engine locks with this key ("prsm" in ASCII-ish); sharing it serializes us with the CLI. */
const MIGRATION_LOCK_KEY = 72707369;

/** prisma/migrations at the package root (same relative path from src/store and dist/store). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {}

/** The migration folders in order (names start with a timestamp, as Prisma makes them). */
export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  if (!existsSync(dir)) throw new MigrationError(`No migrations folder at ${dir}`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const bytes = readFileSync(join(dir, name, 'migration.sql'));
      return { name, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
    });
}

// Prisma's own definition of its bookkeeping table (PostgreSQL flavour).
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"            VARCHAR(64) NOT NULL,
    "finished_at"         TIMESTAMPTZ,
    "migration_name"      VARCHAR(255) NOT NULL,
    "logs"                TEXT,
    "rolled_back_at"      TIMESTAMPTZ,
    "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/** Applies what's pending; returns the names applied now. */
export async function migrate(
  pool: pg.Pool,
  log: FastifyBaseLogger,
  migrations: Migration[] = readMigrations(),
): Promise<string[]> {
  const client = await pool.connect();
  let locked = false;
  let broken: Error | undefined;
  try {
    const { rows } = await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1) AS got', [
      MIGRATION_LOCK_KEY,
    ]);
    if (!rows[0]?.got) {
      log.info('another instance is migrating the database; waiting for it');
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    }
    locked = true;
    await client.query(CREATE_TABLE);
    const applied = (
      await client.query<AppliedRow>(
        'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"',
      )
    ).rows;

    const failed = applied.find((r) => r.finished_at === null && r.rolled_back_at === null);
    if (failed) {
      throw new MigrationError(
        `Migration ${failed.migration_name} is recorded as failed in _prisma_migrations (by the Prisma CLI). Fix the database, then mark it with \`prisma migrate resolve --rolled-back ${failed.migration_name}\` or \`--applied\`.`,
      );
    }
    const done = new Map(
      applied
        .filter((r) => r.finished_at !== null && r.rolled_back_at === null)
        .map((r) => [r.migration_name, r.checksum]),
    );
    for (const [name, checksum] of done) {
      const m = migrations.find((x) => x.name === name);
      if (!m)
        log.warn(
          { migration: name },
          'the database has a migration this version of Parley does not know (a newer version migrated it?)',
        );
      else if (m.checksum !== checksum)
        log.warn({ migration: name }, 'an applied migration was edited since it ran; its changes are not re-applied');
    }

    const appliedNow: string[] = [];
    for (const m of migrations) {
      if (done.has(m.name)) continue;
      try {
        await client.query('BEGIN');
        // Checked again inside the transaction: on the embedded database every connection shares
        // one session, so the advisory lock can't keep two callers apart, but transactions are
        // serialized there and this check is.
        const again = await client.query(
          'SELECT 1 FROM "_prisma_migrations" WHERE migration_name = $1 AND finished_at IS NOT NULL AND rolled_back_at IS NULL',
          [m.name],
        );
        if (again.rowCount) {
          await client.query('COMMIT');
          continue;
        }
        const started = new Date();
        await client.query(m.sql);
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
           VALUES ($1, $2, now(), $3, NULL, NULL, $4, 1)`,
          [randomUUID(), m.checksum, m.name, started],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch((e: Error) => {
          broken = e;
        });
        throw new MigrationError(`Migration ${m.name} failed and was rolled back: ${(err as Error).message}`);
      }
      appliedNow.push(m.name);
      log.info({ migration: m.name }, 'applied database migration');
    }
    return appliedNow;
  } finally {
    if (locked) {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch((e: Error) => {
        broken = e;
      });
    }
    // A connection that failed mid-way is closed rather than reused (closing it also frees the lock).
    client.release(broken);
  }
}
