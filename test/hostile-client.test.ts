/**
 * Clients that misbehave on purpose or by accident: bodies that trickle in or never finish,
 * floods of requests without a key, values made to blow up the logs. Each must cost Parley
 * a bounded amount, and none may disturb what is recorded for real, authenticated requests.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { readSettings } from '../src/config/env.js';
import { MAX_LOG_LINE_CHARS, MAX_LOGGED_CHARS } from '../src/logging/limits.js';
import { createParley, type Parley } from '../src/server.js';
import { captureWrites } from './helpers/log-capture.js';
import { assertSpec } from './helpers/openai-spec.js';
import { memorySink, postJson, sseEvents } from './helpers/parley.js';

const body = { model: 'default', messages: [{ role: 'user', content: 'hi' }] };
/** Bounds a test that would otherwise hang (the failure mode of a missing body timeout). */
const HANG_BOUND = { timeout: 20_000 };

interface Started {
  parley: Parley;
  url: string;
  port: number;
  sink: ReturnType<typeof memorySink>;
  /** Every log line written, parsed. */
  lines: Record<string, unknown>[];
  /** Every log line as written. */
  rawLines: string[];
}

/** A Parley whose log lines and usage records the test can read. */
async function start(
  env: Record<string, string> = {},
  plugins: Parameters<typeof createParley>[0]['plugins'] = [],
): Promise<Started> {
  const { stream: logStream, lines: rawLines } = captureWrites();
  const sink = memorySink();
  const settings = { ...readSettings({ PARLEY_BUILTIN_TOKEN_DELAY_MS: '0', LOG_LEVEL: 'info', ...env }), port: 0 };
  const parley = await createParley({ settings, usage: sink, logStream, plugins });
  const url = await parley.listen();
  return {
    parley,
    url,
    port: Number(new URL(url).port),
    sink,
    rawLines,
    get lines() {
      return rawLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
  };
}

/** Sends the raw bytes, then lets `then` act on the socket; resolves with all it received once it closes. */
function rawRequest(port: number, bytes: string, then: (socket: net.Socket) => void = () => {}): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(bytes);
      then(socket);
    });
    socket.on('data', (d) => (received += d));
    socket.on('error', () => {});
    socket.on('close', () => resolve(received));
  });
}

/** Request headers announcing a body of `length` bytes, of which the caller sends less. */
const head = (path: string, length: number, extra = '') =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`;

const responseBody = (raw: string) => raw.slice(raw.indexOf('\r\n\r\n') + 4);

/** Waits (bounded by the test's timeout) until `check` holds; for bookkeeping that ends after the socket closes. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 10));
}

describe('slow request bodies', () => {
  let s: Started;
  before(async () => {
    // Any path the test needs to look like GraphQL's: a plain POST route that reads its body.
    s = await start({ PARLEY_BODY_TIMEOUT_MS: '300', PARLEY_BUILTIN_TOKEN_DELAY_MS: '40' }, [
      (app) => void app.post('/graphql', async () => ({ data: null })),
    ]);
  });
  after(() => s.parley.shutdown());

  it(
    "a body that stops arriving gets 408 in OpenAI's envelope, its connection closed, and a 408 record",
    HANG_BOUND,
    async () => {
      const raw = await rawRequest(s.port, `${head('/v1/chat/completions', 200)}{"model":"default",`);
      assert.match(raw, /^HTTP\/1\.1 408 /);
      assert.match(raw, /\r\nconnection: close\r\n/i);
      const json = JSON.parse(responseBody(raw));
      assertSpec('ErrorResponse', json);
      assert.equal(json.error.code, 'request_timeout');
      assert.match(json.error.message, /PARLEY_BODY_TIMEOUT_MS/);
      await until(() => s.sink.records.length > 0);
      assert.equal(s.sink.records.at(-1)!.status, 408);
      assert.equal(s.sink.records.at(-1)!.clientAborted, false);
    },
  );

  it("on /graphql the 408 comes in GraphQL's shape", HANG_BOUND, async () => {
    const raw = await rawRequest(s.port, `${head('/graphql', 200)}{"query":`);
    assert.match(raw, /^HTTP\/1\.1 408 /);
    const json = JSON.parse(responseBody(raw));
    assert.equal(json.errors[0].extensions.code, 'REQUEST_TIMEOUT');
  });

  it('a response stream that outlives the body timeout is not cut: it ends with [DONE]', HANG_BOUND, async () => {
    const res = await postJson(`${s.url}/v1/chat/completions`, { ...body, stream: true });
    const events = await sseEvents(res);
    assert.equal(events.at(-1), '[DONE]');
    // 40 ms before each content chunk: the stream lasted well beyond the 300 ms bound.
    const contentChunks = events.filter((e) => e !== '[DONE]' && JSON.parse(e).choices[0]?.delta?.content);
    assert.ok(contentChunks.length * 40 > 2 * 300, `the stream has ${contentChunks.length} paced chunks`);
  });

  it('a keep-alive connection waiting for its next request is not cut', HANG_BOUND, async () => {
    // Two requests on one connection, with a pause longer than the bound between them.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = () =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const req = http.request(
          `${s.url}/v1/chat/completions`,
          { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode!, reused: req.reusedSocket }));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify(body));
      });
    try {
      assert.deepEqual(await send(), { status: 200, reused: false });
      await new Promise((r) => setTimeout(r, 600));
      assert.deepEqual(await send(), { status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  });
});

describe('unauthenticated slow bodies', () => {
  let s: Started;
  before(async () => {
    s = await start({ PARLEY_API_KEYS: 'the-key', PARLEY_BODY_TIMEOUT_MS: '300' });
  });
  after(() => s.parley.shutdown());

  it('get their 401 at once and lose their connection within the bound; nothing is recorded', HANG_BOUND, async () => {
    const raw = await rawRequest(s.port, `${head('/v1/chat/completions', 100_000)}{"model":"default",`, (socket) => {
      // Keep trickling, as the attack did; only the server can end this connection.
      const drip = setInterval(() => socket.writable && socket.write(' '), 20);
      socket.on('close', () => clearInterval(drip));
    });
    assert.match(raw, /^HTTP\/1\.1 401 /);
    assert.equal(s.sink.records.length, 0);
  });
});

describe('abandoned uploads', () => {
  let s: Started;
  before(async () => {
    s = await start();
  });
  after(() => s.parley.shutdown());

  for (const [how, leave] of [
    ['closes', (socket: net.Socket) => socket.end()],
    ['resets', (socket: net.Socket) => socket.resetAndDestroy()],
  ] as const) {
    it(
      `a client that ${how} its connection mid-body is recorded as a client abort (499), not a 400, and nothing is logged as an error`,
      HANG_BOUND,
      async () => {
        const before = s.sink.records.length;
        await rawRequest(s.port, `${head('/v1/chat/completions', 1000)}{"model":"default","messages":[`, (socket) =>
          setTimeout(() => leave(socket), 50),
        );
        await until(() => s.sink.records.length > before);
        const rec = s.sink.records.at(-1)!;
        assert.equal(rec.status, 499);
        assert.equal(rec.clientAborted, true);
        assert.equal(rec.errorType, null);
        assert.deepEqual(
          s.lines.filter((l) => (l.level as number) >= 50),
          [],
        );
      },
    );
  }
});

describe('requests without a valid key', () => {
  let s: Started;
  before(async () => {
    s = await start({ PARLEY_API_KEYS: 'the-key' });
  });
  after(() => s.parley.shutdown());

  it('write no usage record and no per-request log line, are counted, and leave every authenticated record in place', async () => {
    const wrong: Record<string, string>[] = [
      {},
      { authorization: 'Bearer nope' },
      { authorization: 'Bearer no-custom-llm-key-provided' },
      { authorization: 'Basic abc' },
    ];
    const authenticated: Promise<Response>[] = [];
    const refused: Promise<Response>[] = [];
    for (let i = 0; i < 400; i++) {
      refused.push(postJson(`${s.url}/v1/chat/completions`, body, wrong[i % wrong.length]));
      if (i % 20 === 0)
        authenticated.push(postJson(`${s.url}/chat/completions`, body, { authorization: 'Bearer the-key' }));
    }
    for (const res of await Promise.all(refused)) {
      assert.equal(res.status, 401);
      await res.text();
    }
    for (const res of await Promise.all(authenticated)) assert.equal((await res.json()).object, 'chat.completion');

    assert.equal(
      s.sink.records.length,
      authenticated.length,
      'one record per authenticated request, none for the 400 refused',
    );
    assert.ok(s.sink.records.every((r) => r.keyId === 'env:0' && r.status === 200));
    assert.equal(s.parley.authFailures.total, 400);
    assert.deepEqual(s.parley.authFailures.byCode, {
      missing_api_key: 200,
      invalid_api_key: 100,
      vapi_no_credential: 100,
    });
    const chatLines = s.lines.filter((l) => l.msg === 'chat');
    assert.equal(chatLines.length, authenticated.length, 'a log line per authenticated request only');
    const refusalLines = s.lines.filter(
      (l) => typeof l.msg === 'string' && l.msg.startsWith('requests refused for authentication'),
    );
    assert.ok(
      refusalLines.length >= 1 && refusalLines.length < 10,
      `${refusalLines.length} summary lines for 400 refusals`,
    );
    assert.equal(refusalLines[0]!.level, 40);
  });
});

describe('log lines stay short', () => {
  let s: Started;
  before(async () => {
    s = await start();
  });
  after(() => s.parley.shutdown());

  it('a 10 MB model name yields a short log line that still says what happened', async () => {
    const model = 'm'.repeat(10 * 1024 * 1024);
    const res = await postJson(`${s.url}/v1/chat/completions`, { ...body, model });
    await res.arrayBuffer();
    await until(() => s.sink.records.length > 0);
    const line = s.rawLines.find((l) => l.includes('"msg":"chat"'))!;
    assert.ok(line.length < 2 * MAX_LOGGED_CHARS + 1000, `the chat line has ${line.length} characters`);
    const parsed = JSON.parse(line);
    assert.ok((parsed.model as string).startsWith('mmmm'));
    assert.match(parsed.model, new RegExp(`\\[${model.length} characters\\]$`));
    assert.equal(parsed.status, res.status);
    for (const l of s.rawLines) assert.ok(l.length <= MAX_LOG_LINE_CHARS, `a line of ${l.length} characters`);
  });

  it('an error body repeats at most 256 characters of a huge value the client sent (404 model, 400 role)', async () => {
    const huge = 'x'.repeat(10 * 1024 * 1024);
    for (const req of [
      { ...body, model: huge },
      { ...body, messages: [{ role: huge, content: 'hi' }] },
    ]) {
      const res = await postJson(`${s.url}/v1/chat/completions`, req);
      const text = await res.text();
      assert.ok(res.status === 404 || res.status === 400, `status ${res.status}`);
      assert.ok(text.length < 1000, `an error body of ${text.length} characters`);
      assert.match(JSON.parse(text).error.message, /x{256}…/);
    }
  });

  it('an error with a huge message is logged with the message cut', () => {
    const before = s.rawLines.length;
    s.parley.app.log.error({ err: new Error(`upstream said: ${'e'.repeat(1_000_000)}`) }, 'chat request failed');
    const line = s.rawLines.slice(before).join('');
    assert.ok(line.length < 4 * MAX_LOGGED_CHARS, `the line has ${line.length} characters`);
    const parsed = JSON.parse(line);
    assert.match(parsed.err.message, /^upstream said: e+… \[1000015 characters\]$/);
    assert.equal(parsed.err.type, 'Error');
  });

  it('a line made long by any other value is replaced by a short, valid line keeping its level and start', () => {
    const before = s.rawLines.length;
    s.parley.app.log.warn({ nested: { deep: 'v'.repeat(1_000_000) } }, 'something odd');
    const line = s.rawLines.slice(before).join('');
    assert.ok(line.length <= MAX_LOG_LINE_CHARS, `the line has ${line.length} characters`);
    const parsed = JSON.parse(line);
    assert.equal(parsed.level, 40);
    assert.equal(typeof parsed.time, 'number');
    assert.equal(parsed.truncated, true);
    assert.match(parsed.head, /"nested":\{"deep":"vvvv/);
  });
});

describe('refusals for the key on routes other than chat', () => {
  let s: Started;
  before(async () => {
    s = await start({ PARLEY_API_KEYS: 'the-key' });
  });
  after(() => s.parley.shutdown());

  it('get no log line each (the summary counts them), and no stack', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${s.url}/v1/models`);
      assert.equal(res.status, 401);
      await res.text();
    }
    assert.equal(s.parley.authFailures.total, 20);
    assert.ok(s.lines.length < 5, `${s.lines.length} lines for 20 refusals`);
    assert.doesNotMatch(s.rawLines.join(''), /"stack"/);
  });
});
