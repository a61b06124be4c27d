/** Bearer keys on the chat and models routes; open mode only for requests made on Parley's own machine. */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { Authenticator, StaticKeys } from '../src/auth/keys.js';
import { notLocalReason } from '../src/auth/locality.js';
import { readSettings, SettingsError } from '../src/config/env.js';
import { identify, requireKey } from '../src/graphql/auth.js';
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

  it("refuses Vapi's placeholder credential", async () => {
    const res = await postJson(`${p.url}/chat/completions`, body, {
      authorization: 'Bearer no-custom-llm-key-provided',
    });
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
    await assert.rejects(
      createParley({ settings }),
      (err: Error) => err instanceof SettingsError && /PARLEY_API_KEYS/.test(err.message),
    );
  });
});

/** POST with any headers, Host included (fetch does not let a caller set Host). */
function rawPost(
  url: string,
  headers: Record<string, string>,
  payload = JSON.stringify(body),
): Promise<{ status: number; json: { error: { message: string; type: string; code: string } } }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('open mode through a tunnel or proxy', () => {
  let p: TestParley;
  let port: string;
  before(async () => {
    p = await startParley();
    port = new URL(p.url).port;
  });
  after(() => p.close());

  it('answers a direct request, whichever loopback name its Host uses', async () => {
    for (const host of [`localhost:${port}`, 'localhost', `127.0.0.1:${port}`, `[::1]:${port}`, `LocalHost:${port}`]) {
      assert.equal((await rawPost(`${p.url}/v1/chat/completions`, { host })).status, 200, host);
    }
  });

  it('refuses what ngrok sends (public Host, X-Forwarded-For) with a 401 that says how to set a key', async () => {
    const res = await rawPost(`${p.url}/v1/chat/completions`, {
      host: 'abcd-1234.ngrok-free.app',
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'https',
    });
    assert.equal(res.status, 401);
    assertSpec('ErrorResponse', res.json);
    assert.equal(res.json.error.type, 'authentication_error');
    assert.equal(res.json.error.code, 'api_key_required');
    assert.match(res.json.error.message, /PARLEY_API_KEYS/);
    assert.match(res.json.error.message, /Authorization: Bearer/);
  });

  it('refuses a loopback Host that carries any proxy header (a tunnel rewriting Host still adds them)', async () => {
    for (const header of [
      'forwarded',
      'x-forwarded-for',
      'x-forwarded-host',
      'x-forwarded-proto',
      'x-real-ip',
      'cf-connecting-ip',
      'via',
    ]) {
      const res = await rawPost(`${p.url}/v1/chat/completions`, { host: `localhost:${port}`, [header]: 'x' });
      assert.equal(res.status, 401, header);
      assert.match(res.json.error.message, new RegExp(header), header);
    }
  });

  it('refuses a public Host without proxy headers (cloudflared, DNS rebinding), on /v1/models too', async () => {
    assert.equal((await rawPost(`${p.url}/v1/chat/completions`, { host: 'parley.example.com' })).status, 401);
    const models = await new Promise<number>((resolve) =>
      http.get(`${p.url}/v1/models`, { headers: { host: 'parley.example.com' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      }),
    );
    assert.equal(models, 401);
  });

  it('decides locality from the peer address as well', () => {
    const req = (remoteAddress: string | undefined, host = 'localhost:8000') => ({
      headers: { host },
      socket: { remoteAddress },
    });
    assert.equal(notLocalReason(req('127.0.0.1')), null);
    assert.equal(notLocalReason(req('127.8.9.10')), null);
    assert.equal(notLocalReason(req('::1', '[::1]:8000')), null);
    assert.equal(notLocalReason(req('::ffff:127.0.0.1')), null);
    for (const peer of ['192.168.1.20', '::ffff:10.0.0.1', 'fe80::1', undefined])
      assert.match(notLocalReason(req(peer)) ?? '', /non-loopback address/, String(peer));
    assert.match(notLocalReason({ headers: {}, socket: { remoteAddress: '127.0.0.1' } }) ?? '', /Host/);
  });

  it('applies the same rule to GraphQL', async () => {
    const auth = new Authenticator([new StaticKeys([])]);
    const log = pino({ level: 'silent' });
    const local = await identify(
      { headers: { host: 'localhost:8000' }, socket: { remoteAddress: '127.0.0.1' }, log },
      auth,
      undefined,
    );
    assert.equal(local.principal?.keyId, 'open');
    const tunnel = await identify(
      {
        headers: { host: 'abcd-1234.ngrok-free.app', 'x-forwarded-for': '203.0.113.7' },
        socket: { remoteAddress: '127.0.0.1' },
        log,
      },
      auth,
      undefined,
    );
    assert.equal(tunnel.principal, null);
    assert.throws(
      () => requireKey(tunnel),
      (err: Error & { extensions?: { code?: string } }) =>
        err.extensions?.code === 'UNAUTHENTICATED' && /PARLEY_API_KEYS/.test(err.message),
    );
    assert.equal(auth.failures.byCode.api_key_required, 1);
  });
});

describe("Vapi's placeholder as a configured key", () => {
  it('stops Parley at startup, naming the setting', () => {
    assert.throws(
      () => readSettings({ PARLEY_API_KEYS: 'real-key,no-custom-llm-key-provided' }),
      (err: Error) => err instanceof SettingsError && /^PARLEY_API_KEYS .*no-custom-llm-key-provided/.test(err.message),
    );
  });
});
