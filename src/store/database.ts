/**
 * Opens Parley's database: PostgreSQL when DATABASE_URL is set, otherwise the embedded
 * PGlite under PARLEY_DATA_DIR (served from a worker thread, see ./pglite.ts). Either way
 * the main thread holds one `pg` pool, used by Prisma (through @prisma/adapter-pg) and by
 * the migration runner, so both databases go through the same code.
 */

import { PrismaPg } from '@prisma/adapter-pg';
import type { FastifyBaseLogger as Logger } from 'fastify';
import pg from 'pg';
import { SettingsError } from '../config/env.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { EMBEDDED_MAX_CONNECTIONS, type EmbeddedPostgres, startEmbeddedPostgres } from './pglite.js';

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

const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Connects once before anything else uses the pool, so a wrong or unreachable DATABASE_URL
 * stops Parley with one sentence that names it and the fix, not a driver stack trace.
 */
async function firstConnection(pool: pg.Pool, url: string): Promise<void> {
  try {
    (await pool.connect()).release();
  } catch (err) {
    await pool.end().catch(() => {});
    throw connectionError(err as Error & { code?: string }, url);
  }
}

function connectionError(err: Error & { code?: string }, url: string): SettingsError {
  // Host and port only: the URL itself may hold the password.
  let host = 'localhost';
  let port = '5432';
  try {
    const u = new URL(url);
    host = decodeURIComponent(u.hostname) || host;
    port = u.port || port;
  } catch {
    /* pg accepts a few forms URL doesn't; the defaults are what it would use */
  }
  const where = `${host}:${port}`;
  const embedded = 'or unset DATABASE_URL to use the embedded database';
  switch (err.code) {
    case 'ECONNREFUSED':
      return new SettingsError(
        `DATABASE_URL: nothing accepts connections at ${where} (connection refused): start PostgreSQL there or fix the host and port, ${embedded}`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new SettingsError(
        `DATABASE_URL: the host "${host}" cannot be resolved (${err.code}): fix the host name, ${embedded}`,
      );
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new SettingsError(
        `DATABASE_URL: ${where} cannot be reached (${err.code}): check the host, port and firewall, ${embedded}`,
      );
    case '3D000': // invalid_catalog_name
      return new SettingsError(
        `DATABASE_URL: ${err.message} on ${where}: create it (createdb <name>) or fix the database name at the end of the URL`,
      );
    case '28P01': // invalid_password
    case '28000': // invalid_authorization_specification
      return new SettingsError(
        `DATABASE_URL: PostgreSQL at ${where} refused the login (${err.message}): fix the user name and password in the URL`,
      );
  }
  if (/timeout/i.test(err.message)) {
    return new SettingsError(
      `DATABASE_URL: ${where} did not answer within ${CONNECT_TIMEOUT_MS / 1000} s: check the host, port and firewall, ${embedded}`,
    );
  }
  return new SettingsError(`DATABASE_URL: cannot connect to PostgreSQL at ${where}: ${err.message}`);
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
  const pool = new pg.Pool({ ...config, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, idleTimeoutMillis: 30_000 });
  // An idle connection that breaks (database restarted) must not crash Parley: the pool drops it.
  pool.on('error', (err) => log.warn({ err: err.message }, 'database connection lost'));
  if (opts.databaseUrl) await firstConnection(pool, opts.databaseUrl);
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
