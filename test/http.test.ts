/** Request ids, health, the OpenAPI document and Swagger UI, graceful shutdown. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { readSettings } from '../src/config/env.js';
import { createParley } from '../src/server.js';
import { memorySink, postJson, sseEvents, startParley } from './helpers/parley.js';
import { eventually } from './helpers/store.js';

const body = { model: 'default', messages: [{ role: 'user', content: 'hi' }] };

describe('http', () => {
  it('echoes a sane x-request-id and makes one otherwise, on every response', async () => {
    const p = await startParley();
    try {
      const a = await postJson(`${p.url}/v1/chat/completions`, body, { 'x-request-id': 'client-req-42' });
      assert.equal(a.headers.get('x-request-id'), 'client-req-42');
      const b = await postJson(
        `${p.url}/v1/chat/completions`,
        { ...body, stream: true },
        { 'x-request-id': 'bad id with spaces' },
      );
      assert.match(b.headers.get('x-request-id') ?? '', /^req_[0-9a-f]{32}$/);
      await b.text();
      const c = await fetch(`${p.url}/nope`);
      assert.match(c.headers.get('x-request-id') ?? '', /^req_/);
      const d = await postJson(`${p.url}/v1/chat/completions`, { model: 'default' });
      assert.match(d.headers.get('x-request-id') ?? '', /^req_/);
    } finally {
      await p.close();
    }
  });

  it('serves a valid OpenAPI 3.1 document describing every route, and Swagger UI at /docs', async () => {
    const p = await startParley();
    try {
      const doc = await (await fetch(`${p.url}/openapi.json`)).json();
      assert.equal(doc.openapi, '3.1.0');
      assert.deepEqual(Object.keys(doc.paths).sort(), [
        '/chat/completions',
        '/health',
        '/v1/chat/completions',
        '/v1/messages',
        '/v1/messages/count_tokens',
        '/v1/models',
      ]);
      assert.equal(doc.components.securitySchemes.bearerAuth.scheme, 'bearer');
      const post = doc.paths['/v1/chat/completions'].post;
      assert.deepEqual(post.security, [{ bearerAuth: [] }]);
      // Within allOf, so that the route's examples survive beside it (routes/chat.ts).
      assert.deepEqual(post.requestBody.content['application/json'].schema, {
        allOf: [{ $ref: '#/components/schemas/CreateChatCompletionRequest' }],
      });
      assert.ok(post.responses['200'].content['text/event-stream']);
      // Every $ref in the document resolves, and each component is a valid JSON Schema 2020-12.
      for (const m of JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g))
        assert.ok(doc.components.schemas[m[1]!], `component ${m[1]} exists`);
      const ajv = new Ajv2020({ strict: false });
      ajv.addSchema({ $id: 'doc', components: doc.components });
      assert.ok(ajv.getSchema('doc#/components/schemas/CreateChatCompletionRequest'));
      const ui = await fetch(`${p.url}/docs`, { redirect: 'follow' });
      assert.equal(ui.status, 200);
      assert.match(await ui.text(), /swagger/i);
    } finally {
      await p.close();
    }
  });

  it('answers / with a page of working links for a person, and the same links as JSON for a program', async () => {
    const p = await startParley();
    try {
      const res = await fetch(`${p.url}/`, { headers: { accept: 'text/html,application/xhtml+xml' } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      const html = await res.text();
      const hrefs = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!);
      assert.deepEqual(hrefs, ['docs', 'v1/models', 'openapi.json', 'health'], 'GraphiQL only where the database is');
      for (const href of hrefs) assert.equal((await fetch(new URL(href, `${p.url}/`))).status, 200, href);
      const json = await (await fetch(`${p.url}/`)).json();
      assert.deepEqual(json, {
        name: 'Parley',
        links: { docs: '/docs', models: '/v1/models', openapi: '/openapi.json', health: '/health' },
      });
    } finally {
      await p.close();
    }
  });

  it("gives every request body in /docs examples that work when sent with 'Try it out'", async () => {
    const p = await startParley();
    try {
      const doc = await (await fetch(`${p.url}/openapi.json`)).json();
      let tried = 0;
      for (const [path, methods] of Object.entries(
        doc.paths as Record<
          string,
          Record<
            string,
            { requestBody?: { content: Record<string, { examples?: Record<string, { value: unknown }> }> } }
          >
        >,
      )) {
        for (const [method, op] of Object.entries(methods)) {
          if (!op.requestBody) continue;
          const examples = Object.entries(op.requestBody.content['application/json']?.examples ?? {});
          assert.ok(examples.length > 0, `${method} ${path} has examples`);
          for (const [name, example] of examples) {
            const res = await postJson(`${p.url}${path}`, example.value);
            assert.equal(res.status, 200, `${path} example ${name}: ${await res.clone().text()}`);
            await res.text();
            tried++;
          }
        }
      }
      assert.equal(tried, 7, 'two examples on each chat route and on /v1/messages, one on count_tokens');
    } finally {
      await p.close();
    }
  });

  it("documents /graphql and hides GraphiQL's assets", async () => {
    const settings = { ...readSettings({ LOG_LEVEL: 'silent' }), port: 0 };
    const parley = await createParley({
      settings,
      plugins: [
        (app) => {
          app.post('/graphql', async () => ({}));
          app.get('/graphiql/main.js', async () => '');
        },
      ],
    });
    try {
      const url = await parley.listen();
      const doc = await (await fetch(`${url}/openapi.json`)).json();
      assert.deepEqual(doc.paths['/graphql'].post.tags, ['graphql']);
      assert.equal(doc.paths['/graphiql/main.js'], undefined);
    } finally {
      await parley.shutdown();
    }
  });

  it('reports 503 on /health while shutting down, lets an in-flight stream finish, then exits', async () => {
    const p = await startParley({ PARLEY_BUILTIN_TOKEN_DELAY_MS: '20' });
    assert.equal((await fetch(`${p.url}/health`)).status, 200);
    // A closing server accepts no new connection, so the probe rides on one still open: a
    // stream is in flight on it, and the /health request is pipelined behind the stream.
    const { port } = new URL(p.url);
    const socket = connect(Number(port), '127.0.0.1');
    let raw = '';
    socket.setEncoding('utf8').on('data', (d: string) => (raw += d));
    const ended = once(socket, 'close');
    const payload = JSON.stringify({ ...body, stream: true });
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
    );
    await eventually(() => raw.includes('data: '), 'the stream started');
    const closing = p.close();
    socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    await ended;
    await closing;
    assert.match(raw, /data: \[DONE\]/, `the in-flight stream completed: ${raw}`);
    const health = raw.slice(raw.lastIndexOf('HTTP/1.1 '));
    assert.match(health, /^HTTP\/1\.1 503 /, `/health during the shutdown: ${health}`);
    assert.deepEqual(JSON.parse(health.slice(health.indexOf('\r\n\r\n') + 4)), { status: 'shutting_down' });
  });

  it('ends streams that outlive the shutdown grace period with an error event', async () => {
    const p = await startParley({ PARLEY_BUILTIN_TOKEN_DELAY_MS: '200', PARLEY_SHUTDOWN_GRACE_MS: '300' });
    const streaming = postJson(`${p.url}/v1/chat/completions`, { ...body, stream: true }).then(sseEvents);
    await sleep(100);
    await p.close();
    const events = await streaming;
    assert.equal(JSON.parse(events.at(-1)!).error.code, 'shutting_down');
  });

  it('refuses chat requests while shutting down with 503, recording only those with a valid key', async () => {
    const sink = memorySink();
    const p = await startParley({ PARLEY_API_KEYS: 'k1' }, undefined, {}, sink);
    try {
      p.parley.lifecycle.phase = 'shutting_down';
      const withKey = await postJson(`${p.url}/v1/chat/completions`, body, { authorization: 'Bearer k1' });
      assert.equal(withKey.status, 503);
      assert.equal((await withKey.json()).error.code, 'shutting_down');
      const without = await postJson(`${p.url}/v1/chat/completions`, body);
      assert.equal(without.status, 401);
      await without.text();
      assert.deepEqual(
        sink.records.map((r) => [r.keyId, r.status, r.errorType, r.route]),
        [['env:0', 503, 'service_unavailable', 'openai']],
      );
    } finally {
      p.parley.lifecycle.phase = 'ready';
      await p.close();
    }
  });
});
