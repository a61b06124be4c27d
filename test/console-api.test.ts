/**
 * What the console reads besides the existing GraphQL fields (issue 15): usageSeries (usage over
 * time, whose sums equal usage's), usage by PROVIDER, requestLogs by request id, and the admin
 * JSON route /admin/routes (model table and provider health), admin key only.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { postJson } from './helpers/parley.js';
import { needs } from './helpers/prerequisites.js';
import { backends, codes, gql, type StoreParley, startStoreParley } from './helpers/store.js';

const ADMIN = 'admin-secret-for-console-api';
const messages = [{ role: 'user', content: 'hi' }];

interface Totals {
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}
const FIELDS = 'requests errors promptTokens completionTokens totalTokens';
function sum(rows: Totals[]): Totals {
  const t = { requests: 0, errors: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0 };
  for (const r of rows) for (const k of Object.keys(t) as (keyof Totals)[]) t[k] += r[k];
  return t;
}

for (const backend of backends()) {
  describe(`the console's API on ${backend.name}`, {
    skip: needs(`the ${backend.name} backend`, backend.unavailable),
  }, () => {
    let p: StoreParley;
    const admin = (q: string, v?: Record<string, unknown>) => gql(p.url, q, v, ADMIN);
    before(async () => {
      p = await startStoreParley({ ...(await backend.fresh()), PARLEY_ADMIN_KEY: ADMIN, PARLEY_API_KEYS: 'client-k' });
      const auth = { authorization: 'Bearer client-k' };
      for (let i = 0; i < 3; i++)
        await (
          await postJson(
            `${p.url}/v1/chat/completions`,
            { model: 'default', messages },
            { ...auth, 'x-request-id': `series-${i}` },
          )
        ).text();
      await (await postJson(`${p.url}/v1/chat/completions`, { model: 'nope', messages }, auth)).text();
      await p.store.usage.flush();
    });
    after(async () => {
      await p?.close();
      await backend.cleanup();
    });

    it('usageSeries sums to usage for the same range, at every interval and grouping', async () => {
      const to = new Date(Date.now() + 60_000).toISOString();
      const from = new Date(Date.now() - 3_600_000).toISOString();
      const total = sum(
        (
          await admin(`query($f: DateTime, $t: DateTime) { usage(from: $f, to: $t, groupBy: MODEL) { ${FIELDS} } }`, {
            f: from,
            t: to,
          })
        ).body.data!.usage,
      );
      assert.equal(total.requests, 4);
      assert.equal(total.errors, 1);
      for (const interval of ['MINUTE', 'HOUR', 'DAY'])
        for (const groupBy of [null, 'MODEL', 'KEY', 'PROVIDER']) {
          const r = await admin(
            `query($f: DateTime, $t: DateTime, $i: UsageInterval!, $g: UsageGroupBy) { usageSeries(from: $f, to: $t, interval: $i, groupBy: $g) { at key ${FIELDS} } }`,
            { f: from, t: to, i: interval, g: groupBy },
          );
          assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
          const points = r.body.data!.usageSeries as (Totals & { at: string; key: string | null })[];
          assert.deepEqual(sum(points), total, `${interval} by ${groupBy}`);
          for (const pt of points) assert.ok(new Date(pt.at).getTime() <= Date.now(), 'an interval start');
          if (groupBy === 'MODEL') assert.deepEqual([...new Set(points.map((x) => x.key))].sort(), ['default', 'nope']);
          if (groupBy === null) assert.ok(points.every((x) => x.key === null));
        }
    });

    it('groups usage by provider, and refuses a series with too many intervals', async () => {
      const byProvider = (await admin(`{ usage(groupBy: PROVIDER) { key requests } }`)).body.data!.usage;
      assert.deepEqual(byProvider, [
        { key: 'builtin', requests: 3 },
        { key: null, requests: 1 },
      ]);
      const tooMany = await admin(
        '{ usageSeries(from: "2026-01-01T00:00:00Z", to: "2026-03-01T00:00:00Z", interval: MINUTE) { at } }',
      );
      assert.deepEqual(codes(tooMany), ['BAD_USER_INPUT']);
      assert.match(tooMany.body.errors![0]!.message, /at most 1500 intervals/);
      assert.deepEqual(codes(await gql(p.url, '{ usageSeries(interval: HOUR) { at } }', undefined, 'client-k')), [
        'FORBIDDEN',
      ]);
    });

    it('finds one request by its id', async () => {
      const nodes = (await admin('{ requestLogs(filter: { requestId: "series-1" }) { nodes { requestId status } } }'))
        .body.data!.requestLogs.nodes;
      assert.deepEqual(nodes, [{ requestId: 'series-1', status: 200 }]);
    });

    it('/admin/routes: the model table and provider health, admin key only', async () => {
      for (const headers of [{}, { authorization: 'Bearer client-k' }] as Record<string, string>[]) {
        const res = await fetch(`${p.url}/admin/routes`, { headers });
        assert.equal(res.status, 401);
        assert.equal((await res.json()).error.code, 'admin_key_required');
      }
      const res = await fetch(`${p.url}/admin/routes`, { headers: { authorization: `Bearer ${ADMIN}` } });
      assert.equal(res.status, 200);
      const table = await res.json();
      assert.deepEqual(table.models, [
        { model: 'default', targets: [{ provider: 'builtin', model: 'parley-offline' }], fallbackReply: false },
      ]);
      assert.deepEqual(table.listed, ['default']);
      assert.equal(table.defaultProvider, null);
      const builtin = table.providers.find((x: { id: string }) => x.id === 'builtin');
      assert.equal(builtin.requests, 3);
      assert.equal(builtin.errorRate, 0);
      assert.ok(builtin.p50Ms > 0 && builtin.p95Ms >= builtin.p50Ms);
    });
  });
}

describe('/admin/routes without PARLEY_ADMIN_KEY', () => {
  it('is disabled, and says how to turn it on', async () => {
    const { startParley } = await import('./helpers/parley.js');
    const p = await startParley();
    try {
      const res = await fetch(`${p.url}/admin/routes`, { headers: { authorization: 'Bearer anything' } });
      assert.equal(res.status, 403);
      const body = await res.json();
      assert.equal(body.error.code, 'admin_disabled');
      assert.match(body.error.message, /PARLEY_ADMIN_KEY/);
    } finally {
      await p.close();
    }
  });
});

describe('/console', () => {
  it('is served by Parley: the page and every asset it names, none from another host', async () => {
    execFileSync(process.execPath, [join(import.meta.dirname, '../console/build.mjs')], { stdio: 'inherit' });
    const { startParley } = await import('./helpers/parley.js');
    const p = await startParley();
    try {
      const redirect = await fetch(`${p.url}/console`, { redirect: 'manual' });
      assert.equal(redirect.status, 302);
      assert.equal(redirect.headers.get('location'), 'console/', 'relative: works under a path prefix too');
      const res = await fetch(`${p.url}/console/`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      const html = await res.text();
      assert.doesNotMatch(html, /https?:\/\//, 'the page names no other host');
      const refs = [...html.matchAll(/(?:src|href)="(assets\/[^"]+)"/g)].map((m) => m[1]!);
      assert.equal(refs.length, 2, `one script and one stylesheet: ${refs.join(', ')}`);
      for (const ref of refs) {
        const asset = await fetch(new URL(ref, `${p.url}/console/`));
        assert.equal(asset.status, 200, ref);
        assert.match(asset.headers.get('content-type') ?? '', ref.endsWith('.css') ? /text\/css/ : /javascript/);
        assert.match(asset.headers.get('cache-control') ?? '', /immutable/, 'hashed names are cached for good');
        assert.doesNotMatch(await asset.text(), /(?:src|href)=["']?https?:\/\//, `${ref} loads nothing from elsewhere`);
      }
      const missing = await fetch(`${p.url}/console/assets/..%2F..%2Fpackage.json`);
      assert.equal(missing.status, 404);
      assert.equal((await missing.json()).error.code, 'unknown_url');
    } finally {
      await p.close();
    }
  });
});
