/** Bearer keys on the chat and models routes; open mode only on loopback. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readSettings, SettingsError } from '../src/config/env.js';
import { createParley } from '../src/server.js';
import { assertSpec } from './helpers/openai-spec.js';
import { postJson, startParley, type TestParley } from './helpers/parley.js';

const body = { model: 'default', messages: [{ role: 'user', content: 'hi' }] };

describe('API keys', () => {
  let p: TestParley;
  before(async () => {
    p = await startParley({ PARLEY_API_KEYS: 'key-one, key-two' });
  });
  after(() => p.close());

  it('refuses a request without a key with 401 authentication_error', async () => {
    const res = await postJson(`${p.url}/v1/chat/completions`, body);
    assert.equal(res.status, 401);
    const json = await res.json();
    assertSpec('ErrorResponse', json);
    assert.equal(json.error.type, 'authentication_error');
    assert.equal(json.error.code, 'missing_api_key');
  });

  it('refuses a wrong key, and does not echo it', async () => {
    const res = await postJson(`${p.url}/v1/chat/completions`, body, { authorization: 'Bearer key-three-secret' });
    assert.equal(res.status, 401);
    const text = await res.text();
    assert.equal(JSON.parse(text).error.code, 'invalid_api_key');
    assert.doesNotMatch(text, /key-three-secret/);
  });

  it('accepts every configured key, with the scheme in any case', async () => {
    for (const h of ['Bearer key-one', 'bearer key-two', 'BEARER   key-one']) {
      const res = await postJson(`${p.url}/v1/chat/completions`, body, { authorization: h });
      assert.equal(res.status, 200, h);
    }
  });

  it('refuses before validating: a bad body without a key is 401, not 400', async () => {
    const res = await postJson(`${p.url}/v1/chat/completions`, '{bad json');
    assert.equal(res.status, 401);
  });

  it('protects /v1/models but not /health', async () => {
    assert.equal((await fetch(`${p.url}/v1/models`)).status, 401);
    assert.equal((await fetch(`${p.url}/v1/models`, { headers: { authorization: 'Bearer key-one' } })).status, 200);
    assert.equal((await fetch(`${p.url}/health`)).status, 200);
  });

  it('refuses Vapi\'s placeholder credential', async () => {
    const res = await postJson(`${p.url}/chat/completions`, body, { authorization: 'Bearer no-custom-llm-key-provided' });
    assert.equal(res.status, 401);
  });
});

describe('open mode', () => {
  it('runs without keys on loopback', async () => {
    const p = await startParley();
    try {
      assert.equal((await postJson(`${p.url}/v1/chat/completions`, body)).status, 200);
    } finally {
      await p.close();
    }
  });

  it('refuses to start on a non-loopback HOST without keys, and says why', async () => {
    const settings = { ...readSettings({ HOST: '0.0.0.0', LOG_LEVEL: 'silent' }), port: 0 };
    await assert.rejects(createParley({ settings }), (err: Error) => err instanceof SettingsError && /PARLEY_API_KEYS/.test(err.message));
  });
});
