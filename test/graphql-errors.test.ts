/**
 * GraphQL's error codes for database failures (issue 9, item 16): a value the database
 * cannot store (a NUL character) is BAD_USER_INPUT naming the argument, and a database that
 * is stopped or shutting down is SERVICE_UNAVAILABLE, on every resolver; never
 * INTERNAL_SERVER_ERROR. The classification reads the codes on the errors Prisma and pg
 * actually throw, which the last part checks on real ones.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../src/generated/prisma/client.js';
import { databaseProblem } from '../src/graphql/db-errors.js';
import { needs } from './helpers/prerequisites.js';
import {
  backends,
  codes,
  gql,
  type Outage,
  PG_SHUTTING_DOWN,
  pgliteBackend,
  pgOutage,
  type StoreParley,
  startStoreParley,
  storeParleyForSuite,
} from './helpers/store.js';

const ADMIN = 'admin-secret-for-error-tests';
const NUL = 'a\u0000b';

/** One call of every resolver that reaches the database. */
const EVERY_RESOLVER: [string, Record<string, unknown>?][] = [
  ['{ todos { id } }'],
  ['query($a: ID) { todos(after: $a) { id } }', { a: '00000000-0000-4000-8000-000000000000' }],
  ['query($id: ID!) { todo(id: $id) { id } }', { id: '00000000-0000-4000-8000-000000000000' }],
  ['mutation { createTodo(title: "x") { id } }'],
  [
    'mutation($id: ID!) { updateTodo(id: $id, completed: true) { id } }',
    { id: '00000000-0000-4000-8000-000000000000' },
  ],
  ['mutation($id: ID!) { deleteTodo(id: $id) { id } }', { id: '00000000-0000-4000-8000-000000000000' }],
  ['{ apiKeys { id } }'],
  ['mutation { createApiKey(name: "x") { secret } }'],
  ['mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: '00000000-0000-4000-8000-000000000000' }],
  ['{ usage(groupBy: MODEL) { key } }'],
  ['{ requestLogs { nodes { id } } }'],
];

async function expectUnavailable(url: string): Promise<void> {
  for (const [query, variables] of EVERY_RESOLVER) {
    const r = await gql(url, query, variables, ADMIN);
    assert.equal(r.status, 200, query);
    assert.deepEqual(codes(r), ['SERVICE_UNAVAILABLE'], `${query}: ${JSON.stringify(r.body.errors)}`);
    assert.match(r.body.errors![0]!.message, /database is unavailable/);
  }
}

for (const backend of backends()) {
  describe(`GraphQL error codes for database failures on ${backend.name}`, {
    skip: needs(`the ${backend.name} backend`, backend.unavailable),
  }, () => {
    let p: StoreParley;
    let relay: Outage | undefined;
    before(async () => {
      const env = await backend.fresh();
      if (env.DATABASE_URL) {
        relay = await pgOutage(env.DATABASE_URL);
        env.DATABASE_URL = relay.url;
      }
      p = await startStoreParley({ ...env, PARLEY_ADMIN_KEY: ADMIN });
    });
    after(async () => {
      await p?.close();
      await relay?.close();
      await backend.cleanup();
    });

    it('answers a NUL character in a stored or compared text with BAD_USER_INPUT naming the argument', async () => {
      const todo = (await gql(p.url, 'mutation { createTodo(title: "ok") { id } }', undefined, ADMIN)).body.data!
        .createTodo;
      const cases: [string, Record<string, unknown> | undefined, string][] = [
        ['mutation { createTodo(title: "a\\u0000b") { id } }', undefined, 'title'],
        ['mutation($t: String!) { createTodo(title: $t) { id } }', { t: NUL }, 'title'],
        ['mutation($id: ID!, $t: String) { updateTodo(id: $id, title: $t) { id } }', { id: todo.id, t: NUL }, 'title'],
        ['mutation($n: String!) { createApiKey(name: $n) { secret } }', { n: NUL }, 'name'],
        [
          'mutation($m: [String!]) { createApiKey(name: "k", allowedModels: $m) { secret } }',
          { m: ['gpt-4o', NUL] },
          'allowedModels',
        ],
        ['query($k: String) { requestLogs(filter: { keyId: $k }) { nodes { id } } }', { k: NUL }, 'filter.keyId'],
        [
          'query($m: String) { requestLogs(filter: { requestedModel: $m }) { nodes { id } } }',
          { m: NUL },
          'filter.requestedModel',
        ],
        [
          'query($v: String) { requestLogs(filter: { provider: "x", vapiCallId: $v }) { nodes { id } } }',
          { v: NUL },
          'filter.vapiCallId',
        ],
      ];
      for (const [query, variables, field] of cases) {
        const r = await gql(p.url, query, variables, ADMIN);
        assert.equal(r.status, 200, query);
        assert.deepEqual(codes(r), ['BAD_USER_INPUT'], `${query}: ${JSON.stringify(r.body.errors)}`);
        const e = r.body.errors![0] as { message: string; extensions: { field?: string } };
        assert.equal(e.extensions.field, field, query);
        assert.match(e.message, /NUL/);
      }
      // Nothing was written, and the todo kept its title.
      const left = (await gql(p.url, '{ todos { id title } }', undefined, ADMIN)).body.data!.todos;
      assert.deepEqual(left, [{ id: todo.id, title: 'ok' }]);
    });

    const outage = backend.name === 'pglite' ? 'is stopped' : 'is shutting down (57P03)';
    it(`answers SERVICE_UNAVAILABLE on every resolver while the database ${outage}, and works again after`, async () => {
      if (relay) relay.shuttingDown();
      else await p.store.db.embedded!.stop();
      try {
        await expectUnavailable(p.url);
      } finally {
        if (relay) await relay.up();
        else await p.store.db.embedded!.start();
      }
      const r = await gql(p.url, '{ todos { id } }', undefined, ADMIN);
      assert.equal(r.body.errors, undefined);
    });
  });
}

describe('databaseProblem reads the errors Prisma and pg throw', () => {
  const backend = pgliteBackend();
  const suite = storeParleyForSuite(backend);

  const caught = async (op: Promise<unknown>): Promise<unknown> => {
    try {
      await op;
    } catch (err) {
      return err;
    }
    throw new Error('expected the call to fail');
  };

  it('a value the database refuses is "invalid"; a constraint violation is neither', async () => {
    // Prisma: P2039 with the adapter's mapped cause { kind: 'postgres', originalCode: '22021' }.
    assert.equal(
      databaseProblem(await caught(suite.parley.store.db.prisma.todo.create({ data: { title: NUL } }))),
      'invalid',
    );
    // pg (raw queries, as the usage resolver sends): DatabaseError with SQLSTATE 22021.
    assert.equal(databaseProblem(await caught(suite.parley.store.db.pool.query('SELECT $1::text', [NUL]))), 'invalid');
    const id = '00000000-0000-4000-8000-000000000001';
    await suite.parley.store.db.prisma.todo.create({ data: { id, title: 'once' } });
    assert.equal(
      databaseProblem(await caught(suite.parley.store.db.prisma.todo.create({ data: { id, title: 'twice' } }))),
      undefined,
    );
    assert.equal(databaseProblem(new Error('a bug')), undefined);
  });

  it('a database that refuses, drops or never answers connections is "unavailable"', async () => {
    const silent = new Set<Socket>();
    let answer: 'close' | 'shutting down' = 'close';
    const server = createServer((s) => {
      s.on('error', () => {});
      s.once('data', () => (answer === 'close' ? s.destroy() : s.end(PG_SHUTTING_DOWN())));
      silent.add(s);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as import('node:net').AddressInfo).port;
    const pool = new pg.Pool({
      host: '127.0.0.1',
      port,
      user: 'postgres',
      database: 'x',
      connectionTimeoutMillis: 2000,
    });
    pool.on('error', () => {});
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
    try {
      // Connection closed before the server answered: pg's code-less "Connection terminated unexpectedly".
      assert.equal(databaseProblem(await caught(pool.query('SELECT 1'))), 'unavailable');
      assert.equal(databaseProblem(await caught(prisma.todo.findMany())), 'unavailable');
      answer = 'shutting down';
      assert.equal(databaseProblem(await caught(pool.query('SELECT 1'))), 'unavailable');
      assert.equal(databaseProblem(await caught(prisma.todo.findMany())), 'unavailable');
      await new Promise<void>((r) => server.close(() => r()));
      for (const s of silent) s.destroy();
      // Nobody listening: ECONNREFUSED from pg, P1001 from Prisma.
      assert.equal(databaseProblem(await caught(pool.query('SELECT 1'))), 'unavailable');
      assert.equal(databaseProblem(await caught(prisma.todo.findMany())), 'unavailable');
    } finally {
      await prisma.$disconnect().catch(() => {});
      await pool.end().catch(() => {});
      if (server.listening) server.close();
    }
    // The embedded database's Unix socket gone: ENOENT, which Prisma copies onto its error's code.
    await suite.parley.store.db.embedded!.stop();
    try {
      assert.equal(databaseProblem(await caught(suite.parley.store.db.prisma.todo.findMany())), 'unavailable');
      assert.equal(databaseProblem(await caught(suite.parley.store.db.pool.query('SELECT 1'))), 'unavailable');
    } finally {
      await suite.parley.store.db.embedded!.start();
    }
  });
});
