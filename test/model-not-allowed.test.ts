/**
 * A database key limited to some models (createApiKey's allowedModels) gets 403 for any other,
 * in OpenAI's envelope (README: "403 model not allowed for this key"), on both chat routes,
 * streamed or not; the models it may use still work.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSpec } from './helpers/openai-spec.js';
import { postJson } from './helpers/parley.js';
import { gql, pgliteBackend, storeParleyForSuite } from './helpers/store.js';

const ADMIN = 'admin-secret-for-tests';

describe('model_not_allowed', () => {
  const suite = storeParleyForSuite(pgliteBackend(), { PARLEY_ADMIN_KEY: ADMIN });

  it('answers 403 with the envelope naming the model, and serves the allowed one', async () => {
    const { url } = suite.parley;
    const created = await gql(
      url,
      'mutation { createApiKey(name: "limited", allowedModels: ["default"]) { secret } }',
      undefined,
      ADMIN,
    );
    const auth = { authorization: `Bearer ${created.body.data!.createApiKey.secret}` };
    const messages = [{ role: 'user', content: 'hi' }];
    for (const path of ['/v1/chat/completions', '/chat/completions']) {
      for (const stream of [false, true]) {
        const res = await postJson(`${url}${path}`, { model: 'gpt-4o-mini', messages, stream }, auth);
        assert.equal(res.status, 403, `${path} stream=${stream}`);
        assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
        const body = await res.json();
        assertSpec('ErrorResponse', body);
        assert.deepEqual(
          { ...body.error, message: undefined },
          { message: undefined, type: 'permission_error', param: 'model', code: 'model_not_allowed' },
        );
        assert.match(body.error.message, /`gpt-4o-mini`/);
      }
    }
    const allowed = await postJson(`${url}/v1/chat/completions`, { model: 'default', messages }, auth);
    assert.equal(allowed.status, 200);
    await allowed.text();
  });
});
