/**
 * Operators see upstream failures: every failed upstream attempt, each target skipped in a
 * failover included, is one log line with provider, target, status and cause — warn when the
 * upstream is at fault, info (no stack) when it refused the client's request.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { readSettings } from '../src/config/env.js';
import { createParley, type Parley } from '../src/server.js';
import { captureJsonLines } from './helpers/log-capture.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { postJson, sseEvents } from './helpers/parley.js';

const KEY = 'sk-parley-test';
const auth = { authorization: `Bearer ${KEY}` };
const messages = [{ role: 'user', content: 'hi' }];

/** A loopback port nobody listens on (taken, then released): connecting to it is ECONNREFUSED. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

describe('failed upstream attempts are logged', () => {
  let up: MockUpstream;
  let parley: Parley;
  let url: string;
  const { stream: logStream, lines } = captureJsonLines();
  const attempts = () => lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('upstream attempt failed'));

  before(async () => {
    up = await startMockUpstream();
    up.scenarios.set('refuses', { kind: 'error', status: 400 });
    up.scenarios.set('limited', { kind: 'error', status: 429 });
    up.scenarios.set('breaks', { kind: 'broken', afterChunks: 2 });
    const settings = {
      ...readSettings({ PARLEY_BUILTIN_TOKEN_DELAY_MS: '0', LOG_LEVEL: 'info', PARLEY_API_KEYS: KEY }),
      port: 0,
    };
    const fileConfig = {
      providers: {
        down: { type: 'openai-compatible', baseUrl: `http://127.0.0.1:${await closedPort()}/v1` },
        mock: { type: 'openai-compatible', baseUrl: up.url },
      },
      models: {
        failover: {
          targets: [
            { provider: 'down', model: 'first' },
            { provider: 'mock', model: 'limited' },
            { provider: 'mock', model: 'good' },
          ],
        },
        refused: {
          targets: [
            { provider: 'mock', model: 'refuses' },
            { provider: 'mock', model: 'good' },
          ],
        },
        breaks: { targets: [{ provider: 'mock', model: 'breaks' }] },
      },
    } as never;
    parley = await createParley({ settings, fileConfig, logStream });
    url = await parley.listen();
  });
  after(async () => {
    await parley.shutdown();
    await up.close();
  });

  it('logs each target skipped in a failover at warn, with provider, target, status and cause', async () => {
    lines.length = 0;
    const res = await postJson(`${url}/v1/chat/completions`, { model: 'failover', messages }, auth);
    assert.equal(res.status, 200);
    await res.text();
    const [refused, limited, ...rest] = attempts();
    assert.equal(rest.length, 0);
    assert.equal(refused!.level, 40);
    assert.deepEqual(
      [refused!.provider, refused!.target, refused!.status, refused!.code, refused!.next],
      ['down', 'first', 502, 'upstream_unreachable', 'mock/limited'],
    );
    assert.match(String(refused!.cause), /ECONNREFUSED/);
    assert.equal(limited!.level, 40);
    assert.deepEqual(
      [limited!.provider, limited!.target, limited!.status, limited!.next],
      ['mock', 'limited', 429, 'mock/good'],
    );
    assert.match(String(limited!.cause), /mock upstream error 429/);
    assert.equal(refused!.reqId, res.headers.get('x-request-id'));
  });

  it('logs an upstream refusing the request itself at info, without a stack, and does not fail over', async () => {
    lines.length = 0;
    const res = await postJson(`${url}/v1/chat/completions`, { model: 'refused', messages }, auth);
    assert.equal(res.status, 400);
    await res.text();
    const [line, ...rest] = attempts();
    assert.equal(rest.length, 0);
    assert.equal(line!.level, 30);
    assert.deepEqual([line!.provider, line!.target, line!.status, line!.next], ['mock', 'refuses', 400, undefined]);
    assert.equal(line!.err, undefined);
    assert.doesNotMatch(JSON.stringify(lines), /"stack"/);
  });

  it('logs a stream that breaks after its first byte at warn', async () => {
    lines.length = 0;
    const res = await postJson(`${url}/v1/chat/completions`, { model: 'breaks', messages, stream: true }, auth);
    assert.equal(res.status, 200);
    const events = await sseEvents(res);
    assert.match(events.at(-1)!, /"error"/);
    const [line, ...rest] = attempts();
    assert.equal(rest.length, 0);
    assert.equal(line!.level, 40);
    assert.deepEqual([line!.provider, line!.target, line!.afterFirstByte], ['mock', 'breaks', true]);
  });
});
