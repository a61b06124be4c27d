/**
 * GraphiQL works offline (issue 10, 4.2): the page and every asset it loads come from Parley
 * itself, and the IDE starts in a browser that can reach nothing but Parley, introspecting the
 * schema despite the depth limit. Introspection with the admin key is checked here too.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { getIntrospectionQuery } from 'graphql';
import pino from 'pino';
import { GRAPHIQL_ASSETS } from '../src/graphql/graphiql.js';
import { createParley, type Parley } from '../src/server.js';
import { openStore } from '../src/store/index.js';
import { needs } from './helpers/prerequisites.js';
import { gql, pgliteBackend, testSettings } from './helpers/store.js';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN = 'admin-key-for-graphiql-test';

interface Seen {
  method: string;
  url: string;
  status: number;
  introspection: boolean;
}

describe('GraphiQL', () => {
  const backend = pgliteBackend();
  let parley: Parley;
  let url: string;
  const seen: Seen[] = [];
  before(async () => {
    const settings = testSettings({ ...(await backend.fresh()), PARLEY_ADMIN_KEY: ADMIN });
    const store = await openStore(settings, pino({ level: 'silent' }));
    // Every request Parley answers, to see what the browser asked for and how it went.
    const record = (app: import('fastify').FastifyInstance) => {
      app.addHook('onResponse', async (request, reply) => {
        const query = (request.body as { query?: unknown } | undefined)?.query;
        seen.push({
          method: request.method,
          url: request.url,
          status: reply.statusCode,
          introspection: typeof query === 'string' && query.includes('__schema'),
        });
      });
    };
    // Test plugins are registered before GraphQL's, so the hook sees its requests too.
    parley = await createParley({ settings, store, plugins: [record] });
    url = await parley.listen();
  });
  after(async () => {
    await parley?.shutdown();
    await backend.cleanup();
  });

  it('serves a page whose every asset is served by Parley, none from another host', async () => {
    const res = await fetch(`${url}/graphiql`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    const page = await res.text();
    assert.doesNotMatch(page, /https?:\/\//, 'the page names no other host');
    const refs = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(refs.length >= 5, `the page loads its stylesheet and scripts: ${refs.join(', ')}`);
    for (const ref of refs) {
      const target = new URL(ref, `${url}/graphiql`);
      assert.equal(target.origin, url, `${ref} is served by Parley`);
      const asset = await fetch(target);
      assert.equal(asset.status, 200, ref);
      assert.match(asset.headers.get('content-type') ?? '', ref.endsWith('.css') ? /text\/css/ : /javascript/, ref);
      const body = await asset.text();
      const file = GRAPHIQL_ASSETS.get(ref.split('/').pop()!);
      // A package's prebuilt bundle is self-contained; Parley's own scripts load nothing from elsewhere.
      if (file) assert.equal(body, readFileSync(join(...file), 'utf8'), `${ref} is the installed package's file`);
      else assert.doesNotMatch(body, /https?:\/\//, `${ref} names no other host`);
    }
  });

  it('serves nothing else from those packages', async () => {
    for (const name of ['package.json', '..%2Fpackage.json', 'constructor', 'graphiql.js']) {
      assert.equal((await fetch(`${url}/graphiql/assets/${name}`)).status, 404, name);
    }
  });

  it('is linked from the home page', async () => {
    const html = await (await fetch(`${url}/`, { headers: { accept: 'text/html' } })).text();
    assert.match(html, /<a href="graphiql">GraphiQL<\/a>/);
  });

  it('a browser on /graphql is sent to GraphiQL', async () => {
    const res = await fetch(`${url}/graphql`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/graphiql');
  });

  it("answers graphql-js' full introspection query with the admin key", async () => {
    const query = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
      oneOf: true,
    });
    const r = await gql(url, query, undefined, ADMIN);
    assert.equal(r.status, 200);
    assert.equal(r.body.errors, undefined);
    assert.ok((r.body.data!.__schema.types as { name: string }[]).some((t) => t.name === 'ApiKey'));
  });

  it('starts in a browser that can reach only Parley, and loads the schema', {
    skip: needs(
      'a Chromium browser',
      existsSync(CHROMIUM) ? null : `${CHROMIUM} not found (apt-get install -y chromium): the browser check is skipped`,
    ),
  }, async () => {
    const profile = mkdtempSync(join(tmpdir(), 'parley-chromium-'));
    try {
      seen.length = 0;
      const { stdout } = await promisify(execFile)(
        CHROMIUM,
        [
          '--headless=new',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-dev-shm-usage',
          `--user-data-dir=${profile}`,
          // Every host name but Parley's address fails to resolve: a CDN asset would not load.
          '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
          '--virtual-time-budget=15000',
          '--dump-dom',
          `${url}/graphiql`,
        ],
        { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      );
      assert.match(stdout, /class="graphiql-container"/, 'GraphiQL rendered');
      // The browser's own /favicon.ico guess is not the page's doing.
      const failed = seen.filter((s) => s.status >= 400 && s.url !== '/favicon.ico');
      assert.deepEqual(failed, [], 'every request the page made succeeded');
      for (const name of GRAPHIQL_ASSETS.keys())
        assert.ok(
          seen.some((s) => s.url.endsWith(`/graphiql/assets/${name}`)),
          `the browser loaded ${name}`,
        );
      assert.ok(
        seen.some((s) => s.method === 'POST' && s.url === '/graphql' && s.introspection && s.status === 200),
        'GraphiQL introspected the schema',
      );
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
