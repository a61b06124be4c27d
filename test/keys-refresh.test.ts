/**
 * Database keys are re-read every PARLEY_KEY_REFRESH_MS (README): a revocation made straight in
 * the database (another replica, an operator's SQL) is refused within that bound, and not before
 * the re-read (the chat path never queries the database); while the database is unreachable the
 * keys last read stay in force.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { postJson } from './helpers/parley.js';
import { needs } from './helpers/prerequisites.js';
import {
  backends,
  eventually,
  gql,
  type Outage,
  pgOutage,
  postgresBackend,
  type StoreParley,
  startStoreParley,
} from './helpers/store.js';

const ADMIN = 'admin-secret-for-tests';
const REFRESH_MS = 300;
const CREATE = 'mutation($name: String!) { createApiKey(name: $name) { secret key { id } } }';

const chat = (p: StoreParley, secret: string) =>
  postJson(
    `${p.url}/v1/chat/completions`,
    { model: 'default', messages: [{ role: 'user', content: 'hi' }] },
    { authorization: `Bearer ${secret}` },
  ).then(async (r) => {
    await r.arrayBuffer();
    return r.status;
  });

for (const backend of backends()) {
  describe(`database key refresh on ${backend.name}`, {
    skip: needs(`the ${backend.name} backend`, backend.unavailable),
  }, () => {
    let p: StoreParley;
    before(async () => {
      p = await startStoreParley({
        ...(await backend.fresh()),
        PARLEY_ADMIN_KEY: ADMIN,
        PARLEY_KEY_REFRESH_MS: String(REFRESH_MS),
      });
    });
    after(async () => {
      await p?.close();
      await backend.cleanup();
    });

    it(`refuses a key revoked in the database after the next re-read (within 3 × ${REFRESH_MS} ms), not before`, async () => {
      const { secret, key } = (await gql(p.url, CREATE, { name: 'revoked-by-sql' }, ADMIN)).body.data!.createApiKey;
      // Two complete re-reads first: the key is known from the table. Then revoke right after a
      // re-read, so the next one is most of a period away.
      const seen = p.store.keys.loads;
      await eventually(() => p.store.keys.loads >= seen + 2, 'the keys re-read twice');
      assert.equal(await chat(p, secret), 200);
      const loadsAtRevocation = p.store.keys.loads;
      await p.store.db.pool.query('UPDATE "ApiKey" SET "revokedAt" = now() WHERE id = $1', [key.id]);
      const revokedAt = Date.now();
      const first = await chat(p, secret);
      // Still in force until the keys are re-read (if a re-read slipped in, this tells nothing).
      if (p.store.keys.loads === loadsAtRevocation)
        assert.equal(first, 200, 'refused before the keys were re-read: the chat path read the database');
      let status = first;
      while (status !== 401) {
        // A behavioural bound (3 periods), not a speed measurement.
        assert.ok(
          Date.now() - revokedAt <= 3 * REFRESH_MS,
          `still accepted ${Date.now() - revokedAt} ms after the revocation (refresh period ${REFRESH_MS} ms)`,
        );
        await new Promise((r) => setTimeout(r, 20));
        status = await chat(p, secret);
      }
      assert.ok(p.store.keys.loads > loadsAtRevocation, 'refused only once the keys were re-read');
    });

    it('refresh() returns after a read that began after the call, even with another read running', async () => {
      const { secret, key } = (await gql(p.url, CREATE, { name: 'expired-by-sql' }, ADMIN)).body.data!.createApiKey;
      await p.store.keys.refresh();
      assert.equal(await chat(p, secret), 200);
      // A read starts (as the periodic one would), then the key expires, then the caller asks
      // for a refresh: it must not be handed the running read, which may predate the UPDATE.
      const running = p.store.keys.refresh();
      await p.store.db.pool.query(`UPDATE "ApiKey" SET "expiresAt" = now() - interval '1 second' WHERE id = $1`, [
        key.id,
      ]);
      await p.store.keys.refresh();
      assert.equal(await chat(p, secret), 401);
      await running;
    });
  });
}

describe('database keys during a database outage (PostgreSQL)', {
  skip: needs('PostgreSQL', postgresBackend().unavailable),
}, () => {
  const backend = postgresBackend();
  let p: StoreParley;
  let outage: Outage;
  before(async () => {
    const env = await backend.fresh();
    outage = await pgOutage(env.DATABASE_URL!);
    p = await startStoreParley({
      DATABASE_URL: outage.url,
      PARLEY_ADMIN_KEY: ADMIN,
      PARLEY_KEY_REFRESH_MS: String(REFRESH_MS),
      PARLEY_DB_WRITE_TIMEOUT_MS: '500',
    });
  });
  after(async () => {
    await outage?.up();
    await p?.close();
    await outage?.close();
    await backend.cleanup();
  });

  it('keeps accepting the keys last read while the database is down, and says so once', async () => {
    const { secret } = (await gql(p.url, CREATE, { name: 'outage' }, ADMIN)).body.data!.createApiKey;
    assert.equal(await chat(p, secret), 200);
    // Two complete re-reads: the key is now known from the table, not only from its creation
    // here (a re-read that began before the INSERT and ended after it would drop it: reported).
    const loads = p.store.keys.loads;
    await eventually(() => p.store.keys.loads >= loads + 2, 'the keys re-read twice');
    await outage.down();
    await eventually(
      () => p.logs.some((l) => /refreshing database keys failed/.test(l.msg)),
      'a failed re-read of the keys',
    );
    assert.equal(await chat(p, secret), 200, 'a database key is refused during the outage');
    assert.equal(await chat(p, 'pk_not-a-key'), 401);
    await outage.up();
    await eventually(
      () => p.logs.some((l) => /database keys are refreshed again/.test(l.msg)),
      'the keys re-read after the outage',
    );
    assert.equal(await chat(p, secret), 200);
    assert.equal(
      p.logs.filter((l) => /refreshing database keys failed/.test(l.msg)).length,
      1,
      'the outage is logged once, not per re-read',
    );
  });
});

describe('a key created while a refresh is reading the table', () => {
  it('is not dropped by that refresh (its read began before the key was written)', async () => {
    const { DbKeys } = await import('../src/store/db-keys.js');
    const { hashKey } = await import('../src/auth/keys.js');
    const pino = (await import('pino')).default;
    // A table that answers the refresh's read only when the test says so, with what it held before.
    let release!: () => void;
    const readHeld = new Promise<void>((r) => (release = r));
    const stale: unknown[] = [];
    let reads = 0;
    const prisma = {
      apiKey: {
        findMany: async () => {
          reads++;
          if (reads > 1) await readHeld; // the first read is start()'s
          return stale;
        },
        count: async () => 0,
        updateMany: async () => ({ count: 0 }),
        create: async ({
          data,
        }: {
          data: { name: string; prefix: string; hash: string; expiresAt: Date | null; allowedModels: string[] };
        }) => ({
          id: 'k1',
          createdAt: new Date(),
          lastUsedAt: null,
          revokedAt: null,
          ...data,
        }),
      },
    };
    const keys = new DbKeys(prisma as never, pino({ level: 'silent' }), 60_000);
    await keys.start();
    const refreshing = keys.refresh();
    const { secret } = await keys.create({ name: 'new' });
    release();
    await refreshing;
    await keys.stop();
    assert.ok(keys.hasKeys(), 'keys exist');
    const verdict = keys.verify(secret, hashKey(secret));
    assert.deepEqual(
      verdict && 'keyId' in verdict ? verdict.keyId : verdict,
      'k1',
      'the new key is accepted after the stale refresh',
    );
  });
});
