/**
 * GraphQL errors in the log (issue 10): a client's mistakes (syntax, validation, bad input,
 * forbidden, not found, no key) are not logged with a stack — at most one info line with their
 * codes — while a server-side failure keeps its error line. mercurius' defaultErrorFormatter
 * logged every error at info with its stack.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createParley, type Parley } from '../src/server.js';
import { openStore, type Store } from '../src/store/index.js';
import { type CapturedLog, captureLogger, pgliteBackend, testSettings } from './helpers/store.js';

const ADMIN = 'admin-secret-for-logging-tests';
const CLIENT = 'client-secret-for-logging-tests';
const MISSING_ID = '00000000-0000-4000-8000-000000000000';

describe('GraphQL errors in the log', () => {
  const backend = pgliteBackend();
  let store: Store;
  let parley: Parley;
  let url: string;
  let lines: CapturedLog['lines'];
  before(async () => {
    // LOG_LEVEL info, and the app logging to the captured logger (startStoreParley captures the store's lines only).
    const settings = testSettings({
      ...(await backend.fresh()),
      LOG_LEVEL: 'info',
      PARLEY_ADMIN_KEY: ADMIN,
      PARLEY_API_KEYS: CLIENT,
    });
    const captured = captureLogger('info');
    lines = captured.lines;
    store = await openStore(settings, captured.log);
    parley = await createParley({ settings, store, log: captured.log });
    url = await parley.listen();
  });
  after(async () => {
    await parley?.shutdown();
    await backend.cleanup();
  });

  let n = 0;
  /** Sends one GraphQL request and returns its response and the log lines that carry its request id. */
  async function call(query: string, variables: Record<string, unknown> | undefined, key: string | undefined) {
    const reqId = `req_gqllog_${++n}`;
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-request-id': reqId,
        ...(key ? { authorization: `Bearer ${key}` } : {}),
      },
      body: JSON.stringify({ query, ...(variables ? { variables } : {}) }),
    });
    const body = (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
    const codes = (body.errors ?? []).map((e) => e.extensions?.code);
    return { status: res.status, codes, logged: lines.filter((l) => l.reqId === reqId) };
  }

  const clientMistakes: [string, string, Record<string, unknown> | undefined, string | undefined, string][] = [
    ['a syntax error', '{ todos { id }', undefined, CLIENT, 'GRAPHQL_PARSE_FAILED'],
    ['an unknown field', '{ nope }', undefined, CLIENT, 'GRAPHQL_VALIDATION_FAILED'],
    [
      'a variable of the wrong type',
      'query($id: ID!) { todo(id: $id) { id } }',
      { id: { not: 'an id' } },
      CLIENT,
      'BAD_USER_INPUT',
    ],
    [
      'a value the database refuses',
      'mutation($t: String!) { createTodo(title: $t) { id } }',
      { t: 'a\u0000b' },
      CLIENT,
      'BAD_USER_INPUT',
    ],
    ['an admin field with a client key', '{ apiKeys { id } }', undefined, CLIENT, 'FORBIDDEN'],
    [
      'a missing record',
      'mutation($id: ID!) { updateTodo(id: $id, completed: true) { id } }',
      { id: MISSING_ID },
      CLIENT,
      'NOT_FOUND',
    ],
  ];
  for (const [what, query, variables, key, code] of clientMistakes) {
    it(`${what}: one info line with the code, no stack`, async () => {
      const r = await call(query, variables, key);
      assert.deepEqual(r.codes, [code]);
      assert.equal(r.logged.length, 1, JSON.stringify(r.logged));
      const [line] = r.logged;
      assert.equal(line!.level, 30);
      assert.equal(line!.msg, 'graphql: client error');
      assert.deepEqual(line!.codes, [code]);
      assert.equal(line!.status, r.status);
      assert.equal(line!.err, undefined);
      assert.doesNotMatch(JSON.stringify(line), /stack| {4}at /);
    });
  }

  it('no key: no line of its own (the Authenticator summarises refusals), and no stack', async () => {
    const r = await call('{ todos { id } }', undefined, undefined);
    assert.deepEqual(r.codes, ['UNAUTHENTICATED']);
    assert.equal(r.logged.filter((l) => l.msg.startsWith('graphql')).length, 0, JSON.stringify(r.logged));
    assert.ok(
      r.logged.every((l) => l.err === undefined && l.level <= 40),
      JSON.stringify(r.logged),
    );
  });

  it('a server-side failure (database stopped) keeps its error line with the error', async () => {
    await store.db.embedded!.stop();
    let r: Awaited<ReturnType<typeof call>>;
    try {
      r = await call('{ todos { id } }', undefined, CLIENT);
    } finally {
      await store.db.embedded!.start();
    }
    assert.deepEqual(r.codes, ['SERVICE_UNAVAILABLE']);
    const errors = r.logged.filter((l) => l.level >= 50);
    assert.equal(errors.length, 1, JSON.stringify(r.logged));
    assert.equal(errors[0]!.msg, 'graphql: database unavailable');
    assert.ok(errors[0]!.err, 'the error is logged');
    assert.equal(r.logged.filter((l) => l.msg === 'graphql: client error').length, 0);
  });

  it('a valid request logs nothing', async () => {
    const r = await call('{ todos { id } }', undefined, CLIENT);
    assert.deepEqual(r.codes, []);
    assert.deepEqual(r.logged, []);
  });
});
