/** A revoked or expired database key gets a 401 that says so, not "Incorrect API key provided." */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Authenticator, type AuthRequest, hashKey, StaticKeys } from '../src/auth/keys.js';
import type { PrismaClient } from '../src/generated/prisma/client.js';
import type { ApiError } from '../src/protocol/errors.js';
import { DbKeys } from '../src/store/db-keys.js';

const log = pino({ level: 'silent' });
const request = (key: string): AuthRequest =>
  ({
    headers: { authorization: `Bearer ${key}`, host: '127.0.0.1' },
    socket: { remoteAddress: '127.0.0.1' },
    log,
  }) as never;

/** DbKeys over a stand-in for Prisma: only what load() reads (the table as these rows). */
function dbKeys(rows: { id: string; secret: string; revokedAt?: Date; expiresAt?: Date }[]): DbKeys {
  const table = rows.map((r) => ({
    id: r.id,
    hash: hashKey(r.secret).toString('hex'),
    revokedAt: r.revokedAt ?? null,
    expiresAt: r.expiresAt ?? null,
    allowedModels: [],
  }));
  const prisma = {
    apiKey: { findMany: async () => table, count: async () => table.length, updateMany: async () => ({ count: 0 }) },
  } as unknown as PrismaClient;
  return new DbKeys(prisma, log, 60_000);
}

async function refusal(auth: Authenticator, key: string): Promise<ApiError> {
  return auth.authenticate(request(key)).then(
    () => assert.fail('accepted'),
    (e: ApiError) => e,
  );
}

describe('refused database keys', () => {
  it('says a revoked key was revoked, an expired one expired, and an unknown one is incorrect', async () => {
    const keys = dbKeys([
      { id: 'a', secret: 'pk_live' },
      { id: 'b', secret: 'pk_revoked', revokedAt: new Date() },
      { id: 'c', secret: 'pk_expired', expiresAt: new Date(Date.now() - 1000) },
    ]);
    await keys.start();
    try {
      const auth = new Authenticator([new StaticKeys(['env-key']), keys]);
      assert.equal((await auth.authenticate(request('pk_live'))).keyId, 'a');
      const revoked = await refusal(auth, 'pk_revoked');
      assert.equal(revoked.status, 401);
      assert.equal(revoked.code, 'api_key_revoked');
      assert.match(revoked.message, /revoked/);
      const expired = await refusal(auth, 'pk_expired');
      assert.equal(expired.code, 'api_key_expired');
      assert.match(expired.message, /expired/);
      assert.equal((await refusal(auth, 'pk_unknown')).code, 'invalid_api_key');
      assert.deepEqual(auth.failures.byCode, { api_key_revoked: 1, api_key_expired: 1, invalid_api_key: 1 });
    } finally {
      await keys.stop();
    }
  });
});
