/**
 * What any client, with or without a key, can make /graphql do is bounded (issue 9, item 1):
 * the body and a GET's URL, the tokens parsed, fields and depth checked before validation,
 * and mercurius' query cache, which keeps only valid queries and at most QUERY_CACHE_SIZE.
 * Valid queries, GraphiQL's introspection included, still work.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { getIntrospectionQuery } from 'graphql';
import { readSettings, SettingsError } from '../src/config/env.js';
import { MAX_FIELDS, QUERY_CACHE_SIZE } from '../src/graphql/plugin.js';
import { codes, gql, pgliteBackend, type StoreParley, startStoreParley } from './helpers/store.js';

const BODY_LIMIT = 8192;
const MAX_TOKENS = 2000;

/**
 * mercurius keeps parsed queries in quick-lru instances it creates itself (one for valid
 * queries, one for those that failed validation). Every instance that is ever written to is
 * recorded here, so the tests can read how many queries are held. quick-lru is loaded from
 * where mercurius loads it, so this is the same module.
 */
interface Lru {
  readonly size: number;
  set(key: unknown, value: unknown): unknown;
}
const quickLruPath = createRequire(createRequire(import.meta.url).resolve('mercurius')).resolve('quick-lru');
const QuickLRU = ((await import(pathToFileURL(quickLruPath).href)) as { default: { prototype: Lru } }).default;
const caches = new Set<Lru>();
const originalSet = QuickLRU.prototype.set;
QuickLRU.prototype.set = function (this: Lru, key: unknown, value: unknown) {
  caches.add(this);
  return originalSet.call(this, key, value);
};
const cached = () => [...caches].reduce((n, c) => n + c.size, 0);

describe('GraphQL limits', () => {
  const backend = pgliteBackend();
  let p: StoreParley;
  before(async () => {
    p = await startStoreParley({
      ...(await backend.fresh()),
      PARLEY_GRAPHQL_BODY_LIMIT_BYTES: String(BODY_LIMIT),
      PARLEY_GRAPHQL_MAX_TOKENS: String(MAX_TOKENS),
    });
  });
  after(async () => {
    QuickLRU.prototype.set = originalSet;
    await p?.close();
    await backend.cleanup();
  });

  const post = (body: string, contentType = 'application/json') =>
    fetch(`${p.url}/graphql`, { method: 'POST', headers: { 'content-type': contentType }, body });

  it('has documented, validated settings', () => {
    const s = readSettings({});
    assert.equal(s.graphqlBodyLimitBytes, 64 * 1024);
    assert.equal(s.graphqlMaxTokens, 2000);
    assert.ok(s.graphqlBodyLimitBytes * 100 < s.bodyLimitBytes, 'far below the chat body limit');
    assert.throws(
      () => readSettings({ PARLEY_GRAPHQL_BODY_LIMIT_BYTES: 'big' }),
      (e: Error) => e instanceof SettingsError && /PARLEY_GRAPHQL_BODY_LIMIT_BYTES/.test(e.message),
    );
    assert.throws(
      () => readSettings({ PARLEY_GRAPHQL_MAX_TOKENS: '10' }),
      (e: Error) => e instanceof SettingsError && /PARLEY_GRAPHQL_MAX_TOKENS must be an integer >= 200/.test(e.message),
    );
  });

  it('refuses a body over PARLEY_GRAPHQL_BODY_LIMIT_BYTES with a 413 in GraphQL shape, JSON or application/graphql', async () => {
    const fits = JSON.stringify({ query: `{ todos { id } }${' '.repeat(BODY_LIMIT - 200)}` });
    const under = await post(fits);
    assert.equal(under.status, 200);
    assert.deepEqual(await under.json(), { data: { todos: [] } });

    const query = `{ todos { id } }${' '.repeat(BODY_LIMIT)}`;
    for (const [body, type] of [
      [JSON.stringify({ query }), 'application/json'],
      [query, 'application/graphql'],
    ] as const) {
      const res = await post(body, type);
      assert.equal(res.status, 413, type);
      const json = (await res.json()) as { data: unknown; errors: { message: string; extensions: { code: string } }[] };
      assert.equal(json.data, null);
      assert.deepEqual(
        json.errors.map((e) => e.extensions.code),
        ['PAYLOAD_TOO_LARGE'],
      );
      assert.match(json.errors[0]!.message, new RegExp(`${BODY_LIMIT} bytes \\(PARLEY_GRAPHQL_BODY_LIMIT_BYTES\\)`));
    }
  });

  it('holds a GET to the same bound: its URL, which no body limit sees', async () => {
    const url = (pad: number) => `${p.url}/graphql?query=${encodeURIComponent(`{ todos { id } }${' '.repeat(pad)}`)}`;
    assert.equal((await fetch(url(100))).status, 200);
    // Within Node's own 16 KiB limit on a request head, so only Parley's check can refuse it.
    const res = await fetch(url(BODY_LIMIT / 3 + 100)); // spaces are %20: three bytes each
    assert.equal(res.status, 414);
    const json = (await res.json()) as { errors: { extensions: { code: string } }[] };
    assert.deepEqual(
      json.errors.map((e) => e.extensions.code),
      ['URI_TOO_LONG'],
    );
  });

  it('stops parsing at PARLEY_GRAPHQL_MAX_TOKENS: a long query is refused for its length, not for the syntax error at its very end', async () => {
    // Valid GraphQL up to the last character, which is a syntax error; 4 tokens a repetition.
    const long = `{ ${'todos { id } '.repeat(MAX_TOKENS / 4 + 1)} !`;
    assert.ok(long.length < BODY_LIMIT);
    const r = await gql(p.url, long);
    assert.equal(r.status, 400);
    assert.deepEqual(codes(r), ['QUERY_TOO_COMPLEX']);
    assert.match(r.body.errors![0]!.message, new RegExp(`more than ${MAX_TOKENS} tokens`));
    // The same mistake in a short query is reported as what it is.
    const short = await gql(p.url, '{ todos { id } !');
    assert.deepEqual(codes(short), ['GRAPHQL_PARSE_FAILED']);
    assert.match(short.body.errors![0]!.message, /Syntax Error/);
  });

  it('refuses too many fields and too much depth before validation, and a parse tree sent as JSON', async () => {
    // Over MAX_FIELDS identical fields: what makes graphql-js' field-merging check quadratic.
    // Refused before validation runs: the unknown field is not reported.
    const wide = await gql(p.url, `{ ${'__typename '.repeat(MAX_FIELDS + 1)} unknownField }`);
    assert.equal(wide.status, 400);
    assert.deepEqual(codes(wide), ['QUERY_TOO_COMPLEX']);
    // Introspection is the schema's only cycle; each fields → type level multiplies the answer.
    const deep = await gql(p.url, '{ __schema { types { fields { type { fields { type { name } } } } } } }');
    assert.deepEqual(codes(deep), ['QUERY_TOO_COMPLEX']);
    assert.match(deep.body.errors![0]!.message, /deep/);
    const ast = await gql(p.url, JSON.stringify({ kind: 'Document', definitions: [] }));
    assert.equal(ast.status, 400);
    assert.deepEqual(codes(ast), ['GRAPHQL_PARSE_FAILED']);
  });

  it("keeps valid queries working: the seed's operations and GraphiQL's introspection", async () => {
    const created = await gql(
      p.url,
      'mutation {\n  createTodo(title: "Test Todo") {\n    id\n    title\n    completed\n    createdAt\n  }\n}',
    );
    assert.equal(created.body.errors, undefined);
    const listed = await gql(p.url, 'query {\n  todos {\n    id\n    title\n    completed\n    createdAt\n  }\n}');
    assert.deepEqual(listed.body.data!.todos, [created.body.data!.createTodo]);

    const introspection = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
      oneOf: true,
    });
    const r = await gql(p.url, introspection);
    assert.equal(r.status, 200);
    assert.equal(r.body.errors, undefined);
    const types = (r.body.data!.__schema.types as { name: string }[]).map((t) => t.name);
    for (const name of ['Todo', 'ApiKey', 'RequestLog', 'DateTime']) assert.ok(types.includes(name), name);
  });

  it('caches no query that failed, however many distinct ones arrive', async () => {
    await gql(p.url, '{ todos { id } }');
    const before = cached();
    assert.ok(before >= 1, 'the valid query is cached');
    for (let i = 0; i < 40; i++) {
      const failing = [
        `{ todos { id unknown${i} } }`, // validation: unknown field
        `query Q${i}($x: Int) { todos { id } }`, // validation: unused variable
        `{ todos { id } } ${'{'.repeat(i + 1)}`, // syntax
        `{ ${Array.from({ length: MAX_FIELDS + 1 }, (_, j) => `f${i}_${j}: __typename`).join(' ')} }`, // fields
        `{ __schema { types { fields { type { fields { type { name${i} } } } } } } }`, // depth
        `{ ${'a '.repeat(MAX_TOKENS)}b${i} }`, // tokens
      ];
      for (const q of failing) assert.ok(codes(await gql(p.url, q)).length > 0, q.slice(0, 40));
    }
    assert.equal(cached(), before);
  });

  it(`keeps at most QUERY_CACHE_SIZE (${QUERY_CACHE_SIZE}) valid queries`, async () => {
    for (let i = 0; i < QUERY_CACHE_SIZE + 20; i++) {
      const r = await gql(p.url, `{ todos(first: ${(i % 100) + 1}) { id } t${i}: __typename }`);
      assert.equal(r.body.errors, undefined);
    }
    for (const c of caches) assert.ok(c.size <= QUERY_CACHE_SIZE, `a cache holds ${c.size}`);
  });
});
