/**
 * The composition root (server.ts) wires everything: one Authenticator serves the chat
 * routes, /v1/models and GraphQL (a refusal anywhere is counted in one place), and store/
 * imports neither the server nor GraphQL.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { postJson } from './helpers/parley.js';
import { gql, pgliteBackend, type StoreParley, startStoreParley } from './helpers/store.js';

describe('the composition root', () => {
  const backend = pgliteBackend();
  let p: StoreParley;
  before(async () => {
    p = await startStoreParley({ ...(await backend.fresh()), PARLEY_API_KEYS: 'the-key' });
  });
  after(async () => {
    await p.close();
    await backend.cleanup();
  });

  it('uses one Authenticator for chat, models and GraphQL', async () => {
    const chat = await postJson(
      `${p.url}/v1/chat/completions`,
      { model: 'default', messages: [{ role: 'user', content: 'hi' }] },
      { authorization: 'Bearer wrong' },
    );
    assert.equal(chat.status, 401);
    await chat.text();
    const models = await fetch(`${p.url}/v1/models`, { headers: { authorization: 'Bearer wrong' } });
    assert.equal(models.status, 401);
    await models.text();
    await gql(p.url, '{ todos { id } }', undefined, 'wrong');
    assert.equal(p.parley.authFailures.total, 3);
    assert.deepEqual(p.parley.authFailures.byCode, { invalid_api_key: 3 });
  });

  it('keeps store/ free of the server and GraphQL', () => {
    const dir = join(import.meta.dirname, '../src/store');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const imports = [...readFileSync(join(dir, file), 'utf8').matchAll(/^import[^;]*?from '([^']+)'/gms)].map(
        (m) => m[1]!,
      );
      assert.deepEqual(
        imports.filter((i) => /\/(server|graphql\/[^']*)\.js$|\/http\//.test(i)),
        [],
        `src/store/${file}`,
      );
    }
  });
});
