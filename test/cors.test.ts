/** CORS for browser clients: off by default; PARLEY_CORS_ORIGINS lists the origins allowed, preflights are answered. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readSettings, SettingsError } from '../src/config/env.js';
import { postJson, sseEvents, startParley, type TestParley } from './helpers/parley.js';

const KEY = 'sk-parley-test';
const APP = 'https://app.example.com';
const body = { model: 'default', messages: [{ role: 'user', content: 'hi' }] };

function preflight(url: string, origin: string): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    },
  });
}

describe('CORS with PARLEY_CORS_ORIGINS', () => {
  let p: TestParley;
  before(async () => {
    p = await startParley({ PARLEY_API_KEYS: KEY, PARLEY_CORS_ORIGINS: `${APP}, http://localhost:5173` });
  });
  after(() => p.close());

  it('answers a preflight from a listed origin without a key', async () => {
    const res = await preflight(p.url, APP);
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), APP);
    assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(res.headers.get('access-control-allow-headers') ?? '', /authorization/);
  });

  it('lets a listed origin read answers, errors and streams', async () => {
    const headers = { origin: APP, authorization: `Bearer ${KEY}` };
    const json = await postJson(`${p.url}/v1/chat/completions`, body, headers);
    assert.equal(json.status, 200);
    assert.equal(json.headers.get('access-control-allow-origin'), APP);
    assert.match(json.headers.get('access-control-expose-headers') ?? '', /x-request-id/);
    await json.text();

    const stream = await postJson(`${p.url}/v1/chat/completions`, { ...body, stream: true }, headers);
    assert.equal(stream.status, 200);
    assert.equal(stream.headers.get('access-control-allow-origin'), APP);
    assert.ok(stream.headers.get('x-request-id'));
    assert.equal((await sseEvents(stream)).at(-1), '[DONE]');

    const refused = await postJson(`${p.url}/v1/chat/completions`, body, { origin: APP });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('access-control-allow-origin'), APP);
    await refused.text();
  });

  it('gives an origin not listed no CORS headers', async () => {
    const res = await preflight(p.url, 'https://evil.example.com');
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    await res.text();
  });
});

describe('CORS by default', () => {
  let p: TestParley;
  before(async () => {
    p = await startParley({ PARLEY_API_KEYS: KEY });
  });
  after(() => p.close());

  it('is off: no CORS headers, no preflight answer', async () => {
    const res = await preflight(p.url, APP);
    assert.notEqual(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    await res.text();
  });

  it('stops Parley at startup on a value that is not an origin, naming the setting', () => {
    assert.throws(
      () => readSettings({ PARLEY_CORS_ORIGINS: 'https://app.example.com/path' }),
      (e: Error) => e instanceof SettingsError && /PARLEY_CORS_ORIGINS/.test(e.message),
    );
    assert.deepEqual(readSettings({ PARLEY_CORS_ORIGINS: '*' }).corsOrigins, ['*']);
  });
});
