/**
 * Usage records in the database: every chat request, whatever its route and outcome,
 * becomes exactly one RequestLog row; the writes never hold a request up; a database
 * outage loses nothing (within the buffer bound, beyond which drops are counted and
 * logged); SIGTERM writes what is buffered before exit.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { postJson, sseEvents } from './helpers/parley.js';
import { needs } from './helpers/prerequisites.js';
import {
  type Backend,
  backends,
  codes,
  eventually,
  gql,
  type Outage,
  pgOutage,
  type StoreParley,
  startStoreParley,
} from './helpers/store.js';

const KEY = 'sk-usage-test-key';
const auth = { authorization: `Bearer ${KEY}` };
const user = (text: string) => [{ role: 'user', content: text }];

async function rowsFor(pool: pg.Pool, requestIds: string[]) {
  const { rows } = await pool.query(`SELECT * FROM "RequestLog" WHERE "requestId" = ANY($1) ORDER BY "requestId"`, [
    requestIds,
  ]);
  return rows;
}

/** Takes the database away and brings it back, for either backend. */
function outageOf(p: StoreParley, relay: Outage | undefined) {
  const embedded = p.store.db.embedded;
  if (embedded) return { down: () => embedded.stop(), up: () => embedded.start() };
  return { down: () => relay!.down(), up: () => relay!.up() };
}

async function freshEnv(backend: Backend, relays: Outage[]): Promise<{ env: Record<string, string>; relay?: Outage }> {
  const env = await backend.fresh();
  if (!env.DATABASE_URL) return { env };
  const relay = await pgOutage(env.DATABASE_URL);
  relays.push(relay);
  return { env: { ...env, DATABASE_URL: relay.url }, relay };
}

for (const backend of backends()) {
  describe(`usage records on ${backend.name}`, {
    skip: needs(`the ${backend.name} backend`, backend.unavailable),
  }, () => {
    const relays: Outage[] = [];
    after(async () => {
      for (const r of relays) await r.close();
      await backend.cleanup();
    });

    describe('one row per chat request', () => {
      let p: StoreParley;
      before(async () => {
        const { env } = await freshEnv(backend, relays);
        p = await startStoreParley({ ...env, PARLEY_API_KEYS: KEY, PARLEY_BUILTIN_TOKEN_DELAY_MS: '2' });
      });
      after(() => p?.close());

      it('writes exactly one row for each authenticated request: each route, stream or not, success or failure, and client disconnects; none for a request without a key', async () => {
        const chat = `${p.url}/v1/chat/completions`;
        const root = `${p.url}/chat/completions`;
        const vapiBody = {
          call: { id: 'call_usage_1', assistantId: 'asst_usage', customer: { number: '+14155550199' } },
          customer: { number: '+14155550199' },
        };
        const id = (n: string) => ({ ...auth, 'x-request-id': `usage-${n}` });

        // Every body is read to the end: an unread stream would end as a client disconnect.
        const done = async (res: Response) => {
          await res.text();
          return res.status;
        };
        assert.equal(
          await done(
            await postJson(chat, { model: 'default', messages: user('Secret prompt text 1') }, id('openai-json')),
          ),
          200,
        );
        assert.equal(
          await done(
            await postJson(
              chat,
              { model: 'default', messages: user('x'), stream: true, stream_options: { include_usage: true } },
              id('openai-sse'),
            ),
          ),
          200,
        );
        const sse = await postJson(chat, { model: 'default', messages: user('x'), stream: true }, id('openai-sse-2'));
        assert.equal((await sseEvents(sse)).at(-1), '[DONE]');
        assert.equal(
          await done(await postJson(root, { model: 'default', messages: user('x'), ...vapiBody }, id('vapi-json'))),
          200,
        );
        const vapiSse = await postJson(
          root,
          { model: 'default', messages: user('x'), stream: true, ...vapiBody },
          id('vapi-sse'),
        );
        await vapiSse.text();
        assert.equal(
          await done(await postJson(chat, { model: 'no-such-model', messages: user('x') }, id('unknown-model'))),
          404,
        );
        assert.equal(
          await done(await postJson(chat, { model: 'default', messages: 'not a list' }, id('invalid'))),
          400,
        );
        assert.equal(
          await done(
            await postJson(root, { model: 'default', messages: user('x') }, { 'x-request-id': 'usage-no-key' }),
          ),
          401,
        );

        // A client that leaves mid-stream.
        const ac = new AbortController();
        const long = await fetch(chat, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...id('aborted') },
          body: JSON.stringify({
            model: 'default',
            messages: user('Tell me a long story '.repeat(20)),
            stream: true,
            max_tokens: 2000,
          }),
          signal: ac.signal,
        });
        const reader = long.body!.getReader();
        await reader.read();
        ac.abort();
        await reader.read().catch(() => {});

        const ids = [
          'openai-json',
          'openai-sse',
          'openai-sse-2',
          'vapi-json',
          'vapi-sse',
          'unknown-model',
          'invalid',
          'aborted',
        ].map((n) => `usage-${n}`);
        await eventually(
          async () => (await rowsFor(p.store.db.pool, ids)).length === ids.length && p.store.usage.pending === 0,
          'all rows written',
        );
        const rows = await rowsFor(p.store.db.pool, ids);
        assert.deepEqual(rows.map((r) => r.requestId).sort(), [...ids].sort(), 'exactly one row each');
        const by = Object.fromEntries(rows.map((r) => [r.requestId.slice('usage-'.length), r]));

        assert.equal(by['openai-json'].route, 'openai');
        assert.equal(by['openai-json'].status, 200);
        assert.equal(by['openai-json'].stream, false);
        assert.equal(by['openai-json'].keyId, 'env:0');
        assert.equal(by['openai-json'].requestedModel, 'default');
        assert.equal(by['openai-json'].provider, 'builtin');
        assert.ok(by['openai-json'].totalTokens > 0, `totalTokens ${by['openai-json'].totalTokens}`);
        assert.equal(
          by['openai-json'].totalTokens,
          by['openai-json'].promptTokens + by['openai-json'].completionTokens,
        );
        assert.ok(by['openai-json'].durationMs > 0);
        assert.equal(by['openai-json'].vapiCallId, null);

        assert.equal(by['openai-sse'].stream, true);
        assert.ok(by['openai-sse'].ttftMs > 0, `ttftMs ${by['openai-sse'].ttftMs}`);
        assert.ok(by['openai-sse'].totalTokens > 0, `totalTokens ${by['openai-sse'].totalTokens}`);
        assert.equal(by['openai-sse'].clientAborted, false);

        for (const k of ['vapi-json', 'vapi-sse']) {
          assert.equal(by[k].route, 'vapi');
          assert.equal(by[k].vapiCallId, 'call_usage_1');
          assert.equal(by[k].vapiAssistantId, 'asst_usage');
          assert.equal(by[k].vapiCustomerNumber, '+14155550199');
        }
        assert.equal(by['unknown-model'].status, 404);
        assert.equal(by['unknown-model'].errorType, 'invalid_request_error');
        assert.equal(by.invalid.status, 400);
        // Refused for its key: counted, never recorded (anyone could fill the table or the buffer).
        assert.equal(
          (await rowsFor(p.store.db.pool, ['usage-no-key'])).length,
          0,
          'no row for a request without a key',
        );
        assert.equal(by.aborted.clientAborted, true);
        assert.equal(by.aborted.stream, true);

        // No prompt or completion text anywhere in the row.
        const text = JSON.stringify(rows);
        assert.ok(!text.includes('Secret prompt text'));
        assert.ok(!text.includes('offline model'));
      });

      it('records a request whose model name has a NUL character or is too long to index, and the rest of its batch', async () => {
        const chat = `${p.url}/v1/chat/completions`;
        const id = (n: string) => ({ ...auth, 'x-request-id': `odd-${n}` });
        const huge = 'm'.repeat(10_000);
        assert.equal((await postJson(chat, { model: 'gpt\u0000x', messages: user('x') }, id('nul'))).status, 404);
        assert.equal((await postJson(chat, { model: huge, messages: user('x') }, id('huge'))).status, 404);
        assert.equal((await postJson(chat, { model: 'default', messages: user('x') }, id('plain'))).status, 200);
        const ids = ['odd-huge', 'odd-nul', 'odd-plain'];
        await eventually(
          async () => (await rowsFor(p.store.db.pool, ids)).length === 3 && p.store.usage.pending === 0,
          'all three rows written',
        );
        const [hugeRow, nulRow, plainRow] = await rowsFor(p.store.db.pool, ids);
        assert.equal(nulRow.requestedModel, 'gpt\uFFFDx');
        // docs/data.md: "text is cut to 512 characters".
        assert.equal(hugeRow.requestedModel, huge.slice(0, 512));
        assert.equal(plainRow.status, 200);
      });
    });

    describe('database outage', () => {
      let p: StoreParley;
      let relay: Outage | undefined;
      before(async () => {
        const fresh = await freshEnv(backend, relays);
        relay = fresh.relay;
        p = await startStoreParley({ ...fresh.env, PARLEY_API_KEYS: KEY, PARLEY_USAGE_FLUSH_MS: '50' });
      });
      after(() => p?.close());

      it('keeps serving chat while the database is down, and writes every record once it is back', async () => {
        const db = outageOf(p, relay);
        await db.down();
        const ids: string[] = [];
        for (let i = 0; i < 30; i++) {
          const rid = `outage-${i}`;
          ids.push(rid);
          const res = await postJson(
            `${p.url}/v1/chat/completions`,
            { model: 'default', messages: user('x'), stream: i % 2 === 0 },
            { ...auth, 'x-request-id': rid },
          );
          assert.equal(res.status, 200);
          await res.text();
        }
        // GraphQL says so in its own shape, never a 500.
        const gqlDown = await gql(p.url, '{ todos { id } }', undefined, KEY);
        assert.equal(gqlDown.status, 200);
        assert.deepEqual(codes(gqlDown), ['SERVICE_UNAVAILABLE']);
        // The writer tried, failed, and kept every record.
        await eventually(() => p.logs.some((l) => /writing usage records failed/.test(l.msg)), 'a failed write');
        assert.equal(p.store.usage.pending, 30);
        assert.equal(p.store.usage.dropped, 0);

        await db.up();
        await eventually(() => p.store.usage.pending === 0, 'the buffer drains by itself');
        const rows = await rowsFor(p.store.db.pool, ids);
        assert.equal(rows.length, 30, 'no record lost, none duplicated');
        assert.ok(p.logs.some((l) => /being written again/.test(l.msg)));
        await eventually(
          async () => codes(await gql(p.url, '{ todos { id } }', undefined, KEY)).length === 0,
          'GraphQL works again',
        );
      });

      if (backend.name === 'pglite') {
        it('restarts a crashed embedded database by itself, losing no record', async () => {
          await p.store.db.embedded!.kill();
          const ids = ['crash-0', 'crash-1', 'crash-2'];
          for (const rid of ids) {
            const res = await postJson(
              `${p.url}/v1/chat/completions`,
              { model: 'default', messages: user('x') },
              { ...auth, 'x-request-id': rid },
            );
            await res.text();
            assert.equal(res.status, 200);
          }
          await eventually(() => p.logs.some((l) => /embedded database restarted/.test(l.msg)), 'the worker restarted');
          await eventually(() => p.store.usage.pending === 0, 'the buffer drains');
          assert.equal((await rowsFor(p.store.db.pool, ids)).length, 3);
          assert.ok(p.logs.some((l) => /exited unexpectedly/.test(l.msg)));
        });
      }

      it('drops what exceeds the buffer bound, counting and logging it', async () => {
        await p.close();
        const fresh = await freshEnv(backend, relays);
        relay = fresh.relay;
        p = await startStoreParley({
          ...fresh.env,
          PARLEY_API_KEYS: KEY,
          PARLEY_USAGE_BUFFER_MAX: '5',
          PARLEY_USAGE_FLUSH_MS: '50',
        });
        const db = outageOf(p, relay);
        await db.down();
        for (let i = 0; i < 8; i++)
          await (
            await postJson(
              `${p.url}/v1/chat/completions`,
              { model: 'default', messages: user('x') },
              { ...auth, 'x-request-id': `bound-${i}` },
            )
          ).text();
        assert.equal(p.store.usage.pending, 5);
        assert.equal(p.store.usage.dropped, 3);
        assert.ok(p.logs.some((l) => l.level === 40 && /usage buffer full/.test(l.msg)));
        await db.up();
        await eventually(() => p.store.usage.pending === 0, 'the buffer drains');
        const { rows } = await p.store.db.pool.query(
          `SELECT "requestId" FROM "RequestLog" WHERE "requestId" LIKE 'bound-%' ORDER BY 1`,
        );
        assert.deepEqual(
          rows.map((r) => r.requestId),
          ['bound-0', 'bound-1', 'bound-2', 'bound-3', 'bound-4'],
        );
      });
    });

    it('writes buffered records on SIGTERM before exiting (npm start)', async () => {
      const { env } = await freshEnv(backend, relays);
      const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
      // A flush interval of 10 minutes: only the shutdown flush can have written the rows.
      const child = spawn(process.execPath, ['--import', 'tsx', main], {
        env: {
          ...process.env,
          ...env,
          PORT: '0',
          LOG_LEVEL: 'info',
          PARLEY_API_KEYS: KEY,
          PARLEY_USAGE_FLUSH_MS: '600000',
          PARLEY_BUILTIN_TOKEN_DELAY_MS: '0',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      try {
        await eventually(
          () => /Parley is listening on (http:\/\/\S+?) /.test(out),
          `Parley started (output: ${out})`,
          60_000,
        );
        const url = /Parley is listening on (http:\/\/\S+?) /.exec(out)![1]!;
        for (let i = 0; i < 5; i++)
          await (
            await postJson(
              `${url}/v1/chat/completions`,
              { model: 'default', messages: user('x') },
              { ...auth, 'x-request-id': `sigterm-${i}` },
            )
          ).text();
        child.kill('SIGTERM');
        // Bounds a hang (the finally then kills it); it does not time the shutdown.
        const bound = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000).unref());
        assert.equal(await Promise.race([exited, bound]), 0, out);
      } finally {
        // A failed start or a shutdown that hangs must not leave the child running (and the run waiting on it).
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await exited;
        }
      }

      // Read what the stopped process left behind.
      const { openStore } = await import('../src/store/index.js');
      const { testSettings, captureLogger } = await import('./helpers/store.js');
      const store = await openStore(testSettings(env), captureLogger().log);
      try {
        const { rows } = await store.db.pool.query(
          `SELECT "requestId" FROM "RequestLog" WHERE "requestId" LIKE 'sigterm-%' ORDER BY 1`,
        );
        assert.deepEqual(
          rows.map((r) => r.requestId),
          ['sigterm-0', 'sigterm-1', 'sigterm-2', 'sigterm-3', 'sigterm-4'],
        );
      } finally {
        await store.close();
      }
    });
  });
}
