/**
 * Test helpers for persistence: a Parley with its store (embedded PGlite in a temp data
 * dir, or a fresh PostgreSQL database), GraphQL calls, and backends to run suites on.
 */

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { readSettings, type Settings } from '../../src/config/env.js';
import { createParley, type Parley } from '../../src/server.js';
import { openStore, type Store } from '../../src/store/index.js';

export interface Backend {
  name: 'pglite' | 'postgres';
  /** Why the backend can't run here (the test is skipped with this reason), or null. */
  unavailable: string | null;
  /** Env for a fresh, empty database (a new data dir, or a new PostgreSQL database). */
  fresh(): Promise<Record<string, string>>;
  /** Removes every database/data dir made by fresh(). */
  cleanup(): Promise<void>;
}

/**
 * One Parley on a fresh database of `backend` for the enclosing describe block (started in
 * its `before`, closed with the backend's databases in its `after`).
 */
export function storeParleyForSuite(
  backend: Backend,
  env: Record<string, string> = {},
): { readonly parley: StoreParley } {
  let parley: StoreParley | undefined;
  before(async () => {
    parley = await startStoreParley({ ...(await backend.fresh()), ...env });
  });
  after(async () => {
    await parley?.close();
    await backend.cleanup();
  });
  return {
    get parley() {
      if (!parley) throw new Error("the suite's Parley is not started (use it inside a test)");
      return parley;
    },
  };
}

export function pgliteBackend(): Backend {
  const dirs: string[] = [];
  return {
    name: 'pglite',
    unavailable: null,
    async fresh() {
      const dir = mkdtempSync(join(tmpdir(), 'parley-store-'));
      dirs.push(dir);
      return { PARLEY_DATA_DIR: dir };
    },
    async cleanup() {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** PostgreSQL from PARLEY_TEST_DATABASE_URL: each fresh() creates its own database beside it. */
export function postgresBackend(): Backend {
  const base = process.env.PARLEY_TEST_DATABASE_URL;
  const made: string[] = [];
  const admin = () => {
    const u = new URL(base!);
    u.pathname = '/postgres';
    return new pg.Client({ connectionString: u.toString() });
  };
  return {
    name: 'postgres',
    unavailable: base
      ? null
      : 'PARLEY_TEST_DATABASE_URL not set: the PostgreSQL variant needs a server (CI sets it; locally e.g. postgresql://postgres@127.0.0.1:5432/postgres)',
    async fresh() {
      const name = `parley_test_${randomBytes(6).toString('hex')}`;
      const c = admin();
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      made.push(name);
      const u = new URL(base!);
      u.pathname = `/${name}`;
      return { DATABASE_URL: u.toString() };
    },
    async cleanup() {
      if (made.length === 0) return;
      const c = admin();
      await c.connect();
      try {
        for (const name of made.splice(0)) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export const backends = (): Backend[] => [pgliteBackend(), postgresBackend()];

/** Messages logged at warn or above, for assertions. */
export interface CapturedLog {
  lines: { level: number; msg: string; [k: string]: unknown }[];
}

export function captureLogger(level = 'info'): { log: pino.Logger } & CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const log = pino({ level }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

export interface StoreParley {
  url: string;
  parley: Parley;
  store: Store;
  settings: Settings;
  logs: CapturedLog['lines'];
  close(): Promise<void>;
}

export function testSettings(env: Record<string, string>): Settings {
  return { ...readSettings({ PARLEY_BUILTIN_TOKEN_DELAY_MS: '0', LOG_LEVEL: 'silent', ...env }), port: 0 };
}

/** A listening Parley with persistence, as main.ts assembles it. */
export async function startStoreParley(env: Record<string, string>): Promise<StoreParley> {
  const settings = testSettings(env);
  const { log, lines } = captureLogger();
  const store = await openStore(settings, log);
  const parley = await createParley({ settings, store });
  const url = await parley.listen();
  return { url, parley, store, settings, logs: lines, close: () => parley.shutdown() };
}

export interface GqlResult {
  status: number;
  body: {
    data?: Record<string, any> | null;
    errors?: { message: string; extensions?: { code?: string }; path?: string[] }[];
  };
}

export async function gql(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  key?: string,
): Promise<GqlResult> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query, ...(variables ? { variables } : {}) }),
  });
  return { status: res.status, body: (await res.json()) as GqlResult['body'] };
}

/** The codes of a result's errors. */
export const codes = (r: GqlResult): (string | undefined)[] => (r.body.errors ?? []).map((e) => e.extensions?.code);

/** Waits until `check` returns true (polling; for things that happen in the background). */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  limitMs = 15_000,
): Promise<void> {
  const until = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A TCP relay in front of PostgreSQL that a test can take down (every connection cut,
 * new ones refused) and bring back on the same port: a database outage on demand.
 */
export interface Outage {
  /** DATABASE_URL through the relay. */
  url: string;
  down(): Promise<void>;
  up(): Promise<void>;
  /**
   * Plays a server that is shutting down: open connections are cut and new ones are answered
   * as PostgreSQL answers them then (FATAL, SQLSTATE 57P03), until `up()`.
   */
  shuttingDown(): void;
  close(): Promise<void>;
}

/** PostgreSQL's ErrorResponse message ('E', length, then code-tagged NUL-terminated fields, then NUL). */
export function pgErrorResponse(fields: Record<string, string>): Buffer {
  const body = Buffer.concat([...Object.entries(fields).map(([k, v]) => Buffer.from(`${k}${v}\0`)), Buffer.from([0])]);
  const head = Buffer.alloc(5);
  head.write('E', 0);
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** What PostgreSQL sends a new connection while it shuts down. */
export const PG_SHUTTING_DOWN = () =>
  pgErrorResponse({ S: 'FATAL', V: 'FATAL', C: '57P03', M: 'the database system is shutting down' });

export async function pgOutage(databaseUrl: string): Promise<Outage> {
  const { createServer, connect } = await import('node:net');
  const target = new URL(databaseUrl);
  const sockets = new Set<import('node:net').Socket>();
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) {
      client.on('error', () => {});
      client.once('data', () => client.end(PG_SHUTTING_DOWN()));
      return;
    }
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as import('node:net').AddressInfo).port;
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  const down = async () => {
    await new Promise<void>((r) => {
      server.close(() => r());
      for (const s of sockets) s.destroy();
    });
  };
  return {
    url: url.toString(),
    down,
    up: async () => {
      refusing = false;
      if (!server.listening) await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    },
    shuttingDown: () => {
      refusing = true;
      for (const s of sockets) s.destroy();
    },
    close: async () => {
      if (server.listening) await down();
    },
  };
}
