/**
 * Opens Parley's database: PostgreSQL when DATABASE_URL is set, otherwise the embedded
 * PGlite under PARLEY_DATA_DIR (served from a worker thread, see ./pglite.ts). Either way
 * the main thread holds one `pg` pool, used by Prisma (through @prisma/adapter-pg) and by
 * the migration runner, so both databases go through the same code.
 */
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { PrismaClient } from '../generated/prisma/client.js';
import { EMBEDDED_MAX_CONNECTIONS, startEmbeddedPostgres, type EmbeddedPostgres } from './pglite.js';

export interface DatabaseOptions {
  /** PostgreSQL connection string; unset → embedded PGlite in dataDir. */
  databaseUrl?: string;
  dataDir: string;
  log: Logger;
  /** Pool size (PostgreSQL); the embedded database gets at most half its socket's connections. */
  poolMax?: number;
}

export interface Database {
  kind: 'postgres' | 'pglite';
  pool: pg.Pool;
  prisma: PrismaClient;
  /** Set for the embedded database: lets tests stop and restart it. */
  embedded?: EmbeddedPostgres;
  close(): Promise<void>;
}

/** Timestamps as the DB returns them are exact; BIGINT ids beyond 2^53 stay strings in raw queries. */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  const { log } = opts;
  let embedded: EmbeddedPostgres | undefined;
  let config: pg.PoolConfig;
  if (opts.databaseUrl) {
    config = { connectionString: opts.databaseUrl, max: opts.poolMax ?? 10 };
  } else {
    embedded = await startEmbeddedPostgres(opts.dataDir, log);
    config = {
      host: embedded.socketDir,
      port: embedded.port,
      user: 'postgres',
      database: 'postgres',
      max: Math.min(opts.poolMax ?? 4, EMBEDDED_MAX_CONNECTIONS / 2),
    };
  }
  const pool = new pg.Pool({ ...config, connectionTimeoutMillis: 5_000, idleTimeoutMillis: 30_000 });
  // An idle connection that breaks (database restarted) must not crash Parley: the pool drops it.
  pool.on('error', (err) => log.warn({ err: err.message }, 'database connection lost'));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    kind: embedded ? 'pglite' : 'postgres',
    pool,
    prisma,
    embedded,
    async close() {
      await prisma.$disconnect().catch(() => {});
      await pool.end().catch(() => {});
      await embedded?.close();
    },
  };
}
