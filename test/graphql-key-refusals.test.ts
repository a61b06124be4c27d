/**
 * A GraphQL caller with a revoked or expired database key is told so, as the chat routes tell
 * theirs (api_key_revoked, api_key_expired), not "Incorrect API key provided."
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codes, eventually, gql, pgliteBackend, storeParleyForSuite } from './helpers/store.js';

const ADMIN = 'admin-secret-for-key-refusal-tests';

describe('GraphQL with a refused database key', () => {
  const suite = storeParleyForSuite(pgliteBackend(), { PARLEY_ADMIN_KEY: ADMIN, PARLEY_KEY_REFRESH_MS: '100' });

  async function newKey(name: string): Promise<{ id: string; secret: string }> {
    const r = await gql(
      suite.parley.url,
      'mutation($n: String!) { createApiKey(name: $n) { secret key { id } } }',
      { n: name },
      ADMIN,
    );
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    const created = r.body.data!.createApiKey as { secret: string; key: { id: string } };
    assert.equal(
      (await gql(suite.parley.url, '{ todos { id } }', undefined, created.secret)).body.errors,
      undefined,
      'the new key works',
    );
    return { id: created.key.id, secret: created.secret };
  }

  const refusal = (r: Awaited<ReturnType<typeof gql>>) =>
    r.body.errors?.[0] as { message: string; extensions: { code: string; reason?: string } } | undefined;

  it('a revoked key is told it was revoked, on client and admin fields', async () => {
    const key = await newKey('to revoke');
    const revoked = await gql(
      suite.parley.url,
      'mutation($id: ID!) { revokeApiKey(id: $id) { active } }',
      { id: key.id },
      ADMIN,
    );
    assert.equal(revoked.body.errors, undefined, JSON.stringify(revoked.body.errors));
    for (const query of ['{ todos { id } }', '{ apiKeys { id } }']) {
      const r = await gql(suite.parley.url, query, undefined, key.secret);
      assert.deepEqual(codes(r), ['UNAUTHENTICATED'], query);
      assert.match(refusal(r)!.message, /has been revoked/, query);
      assert.equal(refusal(r)!.extensions.reason, 'api_key_revoked', query);
    }
  });

  it('an expired key is told it expired', async () => {
    const key = await newKey('to expire');
    // Its expiry passed (set in the database, as another instance or an operator would): seen at the next key refresh.
    await suite.parley.store.db.prisma.apiKey.update({
      where: { id: key.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    let last: Awaited<ReturnType<typeof gql>> | undefined;
    await eventually(async () => {
      last = await gql(suite.parley.url, '{ todos { id } }', undefined, key.secret);
      return last.body.errors !== undefined;
    }, 'the key refresh to see the expiry');
    assert.deepEqual(codes(last!), ['UNAUTHENTICATED']);
    assert.match(refusal(last!)!.message, /has expired/);
    assert.equal(refusal(last!)!.extensions.reason, 'api_key_expired');
  });

  it('an unknown key is still "incorrect", without a reason', async () => {
    const r = await gql(suite.parley.url, '{ todos { id } }', undefined, 'pk_not_a_key');
    assert.deepEqual(codes(r), ['UNAUTHENTICATED']);
    assert.equal(refusal(r)!.message, 'Incorrect API key provided.');
    assert.equal(refusal(r)!.extensions.reason, undefined);
  });
});
