/**
 * GraphQL's limits accept what is just inside them and refuse what is just over, at the
 * documented defaults (docs/data.md): a 64 KiB body, 2000 tokens, 300 fields, depth 6, pages
 * of 100. Token counts are taken with graphql-js' own lexer, so the edge is exact.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Lexer, Source, TokenKind } from 'graphql';
import { codes, gql, pgliteBackend, type StoreParley, startStoreParley } from './helpers/store.js';

const BODY_LIMIT = 64 * 1024;
const MAX_TOKENS = 2000;
const MAX_FIELDS = 300;

function tokens(query: string): number {
  const lexer = new Lexer(new Source(query));
  let n = 0;
  while (lexer.advance().kind !== TokenKind.EOF) n++;
  return n;
}

/** A valid query of `short` plain fields and `long` fields with a directive (1 and 8 tokens each). */
const fieldsQuery = (short: number, long: number) =>
  `{ ${'__typename '.repeat(short)}${'__typename @include(if: true) '.repeat(long)}}`;

describe('GraphQL limits at their edges (documented defaults)', () => {
  const backend = pgliteBackend();
  let p: StoreParley;
  before(async () => {
    p = await startStoreParley(await backend.fresh());
  });
  after(async () => {
    await p?.close();
    await backend.cleanup();
  });

  const post = (body: string) =>
    fetch(`${p.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const padded = (bytes: number) => {
    const base = JSON.stringify({ query: '{ todos { id } }' });
    return JSON.stringify({ query: `{ todos { id } }${' '.repeat(bytes - base.length)}` });
  };

  it(`takes a body of exactly ${BODY_LIMIT} bytes, refuses one byte more`, async () => {
    const inside = padded(BODY_LIMIT);
    assert.equal(Buffer.byteLength(inside), BODY_LIMIT);
    const ok = await post(inside);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { data: { todos: [] } });
    const over = await post(padded(BODY_LIMIT + 1));
    assert.equal(over.status, 413);
    assert.deepEqual(
      ((await over.json()) as { errors: { extensions: { code: string } }[] }).errors.map((e) => e.extensions.code),
      ['PAYLOAD_TOO_LARGE'],
    );
  });

  it(`takes a query of exactly ${MAX_TOKENS} tokens, refuses ${MAX_TOKENS + 1}`, async () => {
    const inside = fieldsQuery(6, 249);
    const over = fieldsQuery(7, 249);
    assert.equal(tokens(inside), MAX_TOKENS);
    assert.equal(tokens(over), MAX_TOKENS + 1);
    const ok = await gql(p.url, inside);
    assert.equal(ok.status, 200, JSON.stringify(ok.body.errors));
    assert.equal(ok.body.data!.__typename, 'Query');
    const refused = await gql(p.url, over);
    assert.deepEqual(codes(refused), ['QUERY_TOO_COMPLEX']);
    assert.match(refused.body.errors![0]!.message, /tokens/);
  });

  it(`takes ${MAX_FIELDS} fields, refuses ${MAX_FIELDS + 1}`, async () => {
    const ok = await gql(p.url, fieldsQuery(MAX_FIELDS, 0));
    assert.equal(ok.status, 200, JSON.stringify(ok.body.errors));
    assert.deepEqual(codes(await gql(p.url, fieldsQuery(MAX_FIELDS + 1, 0))), ['QUERY_TOO_COMPLEX']);
  });

  it('takes a query 6 deep, refuses 7', async () => {
    const ok = await gql(p.url, '{ __schema { types { fields { type { fields { name } } } } } }');
    assert.equal(ok.status, 200, JSON.stringify(ok.body.errors));
    assert.deepEqual(
      codes(await gql(p.url, '{ __schema { types { fields { type { fields { type { name } } } } } } }')),
      ['QUERY_TOO_COMPLEX'],
    );
  });

  it('takes pages of 100, refuses 101', async () => {
    const ok = await gql(p.url, '{ todos(first: 100) { id } }');
    assert.deepEqual(ok.body, { data: { todos: [] } });
    const over = await gql(p.url, '{ todos(first: 101) { id } }');
    assert.deepEqual(codes(over), ['BAD_USER_INPUT']);
  });
});
