/**
 * Admin GraphQL (apiKeys, createApiKey, revokeApiKey, usage, requestLogs) and database keys
 * on the chat routes: the secret shown once and stored hashed, revocation within the
 * stated bound, expiry, allowed models, lazy lastUsedAt.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { postJson } from './helpers/parley.js';
import { needs } from './helpers/prerequisites.js';
import { backends, codes, eventually, gql, type StoreParley, startStoreParley } from './helpers/store.js';

const ADMIN = 'admin-secret-for-tests';
const ENV_KEY = 'sk-env-key';
const user = (text: string) => [{ role: 'user', content: text }];

const CREATE = `mutation($name: String!, $expiresAt: DateTime, $models: [String!]) {
  createApiKey(name: $name, expiresAt: $expiresAt, allowedModels: $models) {
    secret
    key { id name prefix createdAt lastUsedAt revokedAt expiresAt allowedModels active }
  }
}`;

for (const backend of backends()) {
  describe(`admin GraphQL and database keys on ${backend.name}`, {
    skip: needs(`the ${backend.name} backend`, backend.unavailable),
  }, () => {
    let env: Record<string, string>;
    let p: StoreParley;
    before(async () => {
      env = { ...(await backend.fresh()), PARLEY_ADMIN_KEY: ADMIN, PARLEY_KEY_REFRESH_MS: '200' };
      p = await startStoreParley(env);
    });
    after(async () => {
      await p?.close();
      await backend.cleanup();
    });

    const admin = (q: string, v?: Record<string, unknown>) => gql(p.url, q, v, ADMIN);
    const chat = (key: string | undefined, body: Record<string, unknown> = {}, rid?: string) =>
      postJson(
        `${p.url}/v1/chat/completions`,
        { model: 'default', messages: user('hi'), ...body },
        { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(rid ? { 'x-request-id': rid } : {}) },
      );

    it('creates a key whose secret is shown once and stored only as a hash; from then on auth is required', async () => {
      // No key anywhere yet: the loopback instance is open.
      assert.equal((await chat(undefined)).status, 200);

      const r = await admin(CREATE, { name: 'ci' });
      assert.equal(r.body.errors, undefined);
      const { secret, key } = r.body.data!.createApiKey;
      assert.match(secret, /^pk_[A-Za-z0-9_-]{43}$/);
      assert.equal(key.prefix, secret.slice(0, 11));
      assert.equal(key.active, true);
      assert.equal(key.allowedModels, null);
      assert.equal(key.lastUsedAt, null);

      // The database has the SHA-256, never the secret.
      const row = (await p.store.db.pool.query('SELECT * FROM "ApiKey" WHERE id = $1', [key.id])).rows[0];
      assert.equal(row.hash, createHash('sha256').update(secret).digest('hex'));
      assert.ok(!JSON.stringify(row).includes(secret));
      // …and GraphQL can't return it again: there is no such field.
      const again = await admin('{ apiKeys { secret } }');
      assert.ok(again.status >= 400 && again.status < 500);
      const listed = await admin('{ apiKeys { id name prefix active } }');
      assert.deepEqual(listed.body.data!.apiKeys, [{ id: key.id, name: 'ci', prefix: key.prefix, active: true }]);

      // The key works on both chat routes at once, and the instance is no longer open.
      assert.equal((await chat(secret)).status, 200);
      assert.equal(
        (
          await postJson(
            `${p.url}/chat/completions`,
            { model: 'default', messages: user('hi') },
            { authorization: `Bearer ${secret}` },
          )
        ).status,
        200,
      );
      assert.equal((await chat(undefined)).status, 401);
      assert.equal((await chat('pk_wrong')).status, 401);
    });

    it('needs the admin key for admin fields', async () => {
      const { secret } = (await admin(CREATE, { name: 'client' })).body.data!.createApiKey;
      for (const q of [
        '{ apiKeys { id } }',
        '{ usage(groupBy: MODEL) { key } }',
        '{ requestLogs { nodes { id } } }',
        'mutation { createApiKey(name: "x") { secret } }',
        'mutation { revokeApiKey(id: "00000000-0000-4000-8000-000000000000") { id } }',
      ]) {
        assert.deepEqual(codes(await gql(p.url, q)), ['UNAUTHENTICATED'], q);
        assert.deepEqual(codes(await gql(p.url, q, undefined, secret)), ['FORBIDDEN'], q);
        assert.deepEqual(codes(await gql(p.url, q, undefined, 'not-a-key')), ['UNAUTHENTICATED'], q);
      }
      // A client key still reaches todos; the admin key does too.
      assert.deepEqual(codes(await gql(p.url, '{ todos { id } }', undefined, secret)), []);
      assert.deepEqual(codes(await admin('{ todos { id } }')), []);
    });

    it('refuses a key revoked here at once, and one revoked elsewhere within PARLEY_KEY_REFRESH_MS', async () => {
      const a = (await admin(CREATE, { name: 'revoke-here' })).body.data!.createApiKey;
      assert.equal((await chat(a.secret)).status, 200);
      const revoked = await admin('mutation($id: ID!) { revokeApiKey(id: $id) { id active revokedAt } }', {
        id: a.key.id,
      });
      assert.equal(revoked.body.data!.revokeApiKey.active, false);
      assert.ok(revoked.body.data!.revokeApiKey.revokedAt);
      assert.equal((await chat(a.secret)).status, 401);
      // Revoking twice is harmless; an unknown id is NOT_FOUND.
      assert.deepEqual(codes(await admin('mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: a.key.id })), []);
      assert.deepEqual(
        codes(await admin('mutation { revokeApiKey(id: "00000000-0000-4000-8000-000000000000") { id } }')),
        ['NOT_FOUND'],
      );
      assert.deepEqual(codes(await admin('mutation { revokeApiKey(id: "nope") { id } }')), ['NOT_FOUND']);

      // Another replica (here: straight SQL) revokes a key: the cache still accepts it…
      const b = (await admin(CREATE, { name: 'revoke-elsewhere' })).body.data!.createApiKey;
      assert.equal((await chat(b.secret)).status, 200);
      await p.store.db.pool.query('UPDATE "ApiKey" SET "revokedAt" = now() WHERE id = $1', [b.key.id]);
      const loads = p.store.keys.loads;
      // …until the next periodic refresh, which comes at most PARLEY_KEY_REFRESH_MS later.
      assert.equal(p.store.keys.refreshMs, 200);
      await eventually(
        () => p.store.keys.loads >= loads + 2,
        'two refreshes (one may have read the table before the UPDATE)',
      );
      assert.equal((await chat(b.secret)).status, 401);
    });

    it('refuses expired keys and keys outside their allowed models', async () => {
      const future = new Date(Date.now() + 3_600_000).toISOString();
      const e = (await admin(CREATE, { name: 'expiring', expiresAt: future })).body.data!.createApiKey;
      assert.equal(e.key.expiresAt, new Date(future).toISOString());
      assert.equal((await chat(e.secret)).status, 200);
      await p.store.db.pool.query(`UPDATE "ApiKey" SET "expiresAt" = now() - interval '1 second' WHERE id = $1`, [
        e.key.id,
      ]);
      await p.store.keys.refresh();
      assert.equal((await chat(e.secret)).status, 401);
      const listed = (await admin('{ apiKeys { id active } }')).body.data!.apiKeys as { id: string; active: boolean }[];
      assert.equal(listed.find((k) => k.id === e.key.id)!.active, false);

      const m = (await admin(CREATE, { name: 'only-default', models: ['default'] })).body.data!.createApiKey;
      assert.deepEqual(m.key.allowedModels, ['default']);
      assert.equal((await chat(m.secret)).status, 200);
      const other = await chat(m.secret, { model: 'gpt-4o' });
      assert.equal(other.status, 403);

      // Bad input for keys.
      assert.deepEqual(codes(await admin(CREATE, { name: '  ' })), ['BAD_USER_INPUT']);
      assert.deepEqual(codes(await admin(CREATE, { name: 'x', expiresAt: '2000-01-01T00:00:00Z' })), [
        'BAD_USER_INPUT',
      ]);
      assert.deepEqual(codes(await admin(CREATE, { name: 'x', models: [] })), ['BAD_USER_INPUT']);
      const badDate = await admin(CREATE, { name: 'x', expiresAt: 'tomorrow' });
      assert.ok(badDate.status < 500 && badDate.body.errors!.length === 1);
    });

    it('reports usage by model, key and day, and pages request logs with filters', async () => {
      const k1 = (await admin(CREATE, { name: 'team-a' })).body.data!.createApiKey;
      const start = new Date(Date.now() - 1000).toISOString();
      for (let i = 0; i < 3; i++) await (await chat(k1.secret, {}, `logs-a-${i}`)).text();
      await (await chat(k1.secret, { model: 'missing-model' }, 'logs-a-err')).text();
      const vapi = await postJson(
        `${p.url}/chat/completions`,
        {
          model: 'default',
          messages: user('hi'),
          call: { id: 'call_admin_1', assistantId: 'asst_1' },
          customer: { number: '+15550001111' },
        },
        { authorization: `Bearer ${k1.secret}`, 'x-request-id': 'logs-vapi' },
      );
      await vapi.text();
      await p.store.usage.flush();
      const end = new Date(Date.now() + 1000).toISOString();

      const byKey = (
        await admin(
          'query($f: DateTime, $t: DateTime) { usage(from: $f, to: $t, groupBy: KEY) { key keyName requests errors promptTokens completionTokens totalTokens } }',
          { f: start, t: end },
        )
      ).body.data!.usage;
      const mine = byKey.find((b: { key: string }) => b.key === k1.key.id);
      assert.equal(mine.keyName, 'team-a');
      assert.equal(mine.requests, 5);
      assert.equal(mine.errors, 1);
      const logs = (await p.store.db.pool.query('SELECT * FROM "RequestLog" WHERE "keyId" = $1', [k1.key.id])).rows;
      assert.equal(
        mine.totalTokens,
        logs.reduce((s, r) => s + (r.totalTokens ?? 0), 0),
      );
      assert.equal(mine.totalTokens, mine.promptTokens + mine.completionTokens);
      assert.ok(mine.totalTokens > 0);

      const byModel = (
        await admin('query($f: DateTime) { usage(from: $f, groupBy: MODEL) { key requests errors } }', { f: start })
      ).body.data!.usage;
      assert.deepEqual(
        byModel.find((b: { key: string }) => b.key === 'missing-model'),
        { key: 'missing-model', requests: 1, errors: 1 },
      );
      const byDay = (await admin('{ usage(groupBy: DAY) { key requests } }')).body.data!.usage;
      const today = new Date().toISOString().slice(0, 10);
      assert.ok(byDay.some((b: { key: string; requests: number }) => b.key === today && b.requests >= 5));
      assert.deepEqual(
        codes(await admin('{ usage(from: "2030-01-02T00:00:00Z", to: "2030-01-01T00:00:00Z", groupBy: DAY) { key } }')),
        ['BAD_USER_INPUT'],
      );

      // Pages of two, newest first, filtered by key: every row once, in order.
      const seen: string[] = [];
      let after: string | null = null;
      // Bounded: a cursor that never advances fails here instead of hanging the suite.
      for (let pages = 1; ; pages++) {
        assert.ok(pages <= 5, 'five rows in pages of two end within three pages');
        const page: {
          nodes: { requestId: string; createdAt: string }[];
          pageInfo: { endCursor: string | null; hasNextPage: boolean };
        } = (
          await admin(
            'query($k: String, $a: String) { requestLogs(filter: { keyId: $k }, first: 2, after: $a) { nodes { requestId createdAt } pageInfo { endCursor hasNextPage } } }',
            { k: k1.key.id, a: after },
          )
        ).body.data!.requestLogs;
        seen.push(...page.nodes.map((n) => n.requestId));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      assert.deepEqual([...seen].sort(), ['logs-a-0', 'logs-a-1', 'logs-a-2', 'logs-a-err', 'logs-vapi']);
      assert.equal(new Set(seen).size, 5);

      const vapiLogs = (
        await admin(
          '{ requestLogs(filter: { route: vapi, vapiCallId: "call_admin_1" }) { nodes { requestId route vapi { callId assistantId customerNumber } } } }',
        )
      ).body.data!.requestLogs.nodes;
      assert.deepEqual(vapiLogs, [
        {
          requestId: 'logs-vapi',
          route: 'vapi',
          vapi: { callId: 'call_admin_1', assistantId: 'asst_1', customerNumber: '+15550001111' },
        },
      ]);
      const byPlatform = (
        await admin(
          '{ requestLogs(filter: { platform: "vapi", callId: "call_admin_1" }) { nodes { requestId platform callId replayOf } } }',
        )
      ).body.data!.requestLogs.nodes;
      assert.deepEqual(byPlatform, [
        { requestId: 'logs-vapi', platform: 'vapi', callId: 'call_admin_1', replayOf: null },
      ]);
      const errors = (
        await admin(
          'query($k: String) { requestLogs(filter: { keyId: $k, errorsOnly: true }) { nodes { requestId status errorType } } }',
          { k: k1.key.id },
        )
      ).body.data!.requestLogs.nodes;
      assert.deepEqual(errors, [{ requestId: 'logs-a-err', status: 404, errorType: 'invalid_request_error' }]);
      const nonVapi = (
        await admin(
          'query($k: String) { requestLogs(filter: { keyId: $k, route: openai }) { nodes { vapi { callId } } } }',
          { k: k1.key.id },
        )
      ).body.data!.requestLogs.nodes;
      assert.ok(nonVapi.length === 4 && nonVapi.every((n: { vapi: unknown }) => n.vapi === null));

      assert.deepEqual(codes(await admin('{ requestLogs(after: "garbage") { nodes { id } } }')), ['BAD_USER_INPUT']);
      assert.deepEqual(codes(await admin('{ requestLogs(first: 101) { nodes { id } } }')), ['BAD_USER_INPUT']);
    });

    it('keeps keys across a restart', async () => {
      const k = (await admin(CREATE, { name: 'persistent' })).body.data!.createApiKey;
      await p.close();
      p = await startStoreParley(env);
      assert.equal((await chat(k.secret)).status, 200);
      assert.equal((await chat(undefined)).status, 401, 'keys in the database keep auth required after a restart');
    });
  });
}

describe('admin fields without PARLEY_ADMIN_KEY', () => {
  const backend = backends()[0]!;
  let p: StoreParley;
  before(async () => {
    p = await startStoreParley({ ...(await backend.fresh()), PARLEY_API_KEYS: ENV_KEY });
  });
  after(async () => {
    await p?.close();
    await backend.cleanup();
  });

  it('are disabled, with a message saying how to enable them', async () => {
    const r = await gql(p.url, '{ apiKeys { id } }', undefined, ENV_KEY);
    assert.deepEqual(codes(r), ['FORBIDDEN']);
    assert.match(r.body.errors![0]!.message, /PARLEY_ADMIN_KEY/);
  });
});

describe('lastUsedAt', () => {
  const backend = backends()[0]!;
  let p: StoreParley;
  before(async () => {
    // A refresh period far longer than the test: only an explicit refresh can write.
    p = await startStoreParley({
      ...(await backend.fresh()),
      PARLEY_ADMIN_KEY: ADMIN,
      PARLEY_KEY_REFRESH_MS: '600000',
    });
  });
  after(async () => {
    await p?.close();
    await backend.cleanup();
  });

  it('is written in batches on the refresh, not by the request', async () => {
    const k = (await gql(p.url, CREATE, { name: 'stamp' }, ADMIN)).body.data!.createApiKey;
    for (let i = 0; i < 3; i++)
      assert.equal(
        (
          await postJson(
            `${p.url}/v1/chat/completions`,
            { model: 'default', messages: user('hi') },
            { authorization: `Bearer ${k.secret}` },
          )
        ).status,
        200,
      );
    const stamp = async () =>
      (await p.store.db.pool.query('SELECT "lastUsedAt" FROM "ApiKey" WHERE id = $1', [k.key.id])).rows[0].lastUsedAt;
    assert.equal(await stamp(), null);
    await p.store.keys.refresh();
    assert.ok((await stamp()) instanceof Date);
  });
});

describe('database keys across two instances (PostgreSQL)', {
  skip: needs('PostgreSQL', backends()[1]!.unavailable),
}, () => {
  const backend = backends()[1]!;
  let a: StoreParley;
  let b: StoreParley;
  before(async () => {
    const env = { ...(await backend.fresh()), PARLEY_ADMIN_KEY: ADMIN, PARLEY_KEY_REFRESH_MS: '200' };
    a = await startStoreParley(env);
    b = await startStoreParley(env);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await backend.cleanup();
  });

  it('a key created on one is accepted by the other, and refused there within the bound once revoked', async () => {
    const k = (await gql(a.url, CREATE, { name: 'shared' }, ADMIN)).body.data!.createApiKey;
    const call = (p: StoreParley) =>
      postJson(
        `${p.url}/v1/chat/completions`,
        { model: 'default', messages: user('hi') },
        { authorization: `Bearer ${k.secret}` },
      );
    const loads = b.store.keys.loads;
    await eventually(() => b.store.keys.loads >= loads + 2, 'instance b refreshed');
    assert.equal((await call(b)).status, 200);
    await gql(a.url, 'mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: k.key.id }, ADMIN);
    assert.equal((await call(a)).status, 401);
    const after = b.store.keys.loads;
    await eventually(() => b.store.keys.loads >= after + 2, 'instance b refreshed after the revocation');
    assert.equal((await call(b)).status, 401);
  });
});
