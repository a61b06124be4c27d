/**
 * Cost and limits through the store and GraphQL: every record carries its cost (JSON and
 * streamed answers), GraphQL shows it (RequestLog.costUsd, UsageBucket.costUsd), database keys
 * take limits at creation and later (ApiKey.limits, spendUsd), and a budget's counter is
 * rebuilt from the recorded spend when a process starts without it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { chat } from './helpers/limits.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { codes, eventually, gql, pgliteBackend, type StoreParley, startStoreParley } from './helpers/store.js';

const ADMIN = 'admin-key-for-limits';
const KEY_FIELDS =
  'id name limits { requestsPerMinute tokensPerMinute maxParallelRequests budgetUsd budgetPeriod } spendUsd';

describe('cost and key limits in GraphQL', () => {
  const backend = pgliteBackend();
  let up: MockUpstream;
  let p: StoreParley;
  let env: Record<string, string>;
  before(async () => {
    up = await startMockUpstream();
    env = {
      ...(await backend.fresh()),
      PARLEY_ADMIN_KEY: ADMIN,
      OPENAI_API_KEY: 'sk-upstream',
      OPENAI_BASE_URL: up.url,
      PARLEY_USAGE_FLUSH_MS: '20',
    };
    p = await startStoreParley(env);
  });
  after(async () => {
    await p?.close();
    await up.close();
    await backend.cleanup();
  });

  let id = '';
  let secret = '';

  it('creates a key with limits and shows them', async () => {
    const r = await gql(
      p.url,
      `mutation { createApiKey(name: "app", limits: { requestsPerMinute: 2, budgetUsd: 1 }) { secret key { ${KEY_FIELDS} } } }`,
      undefined,
      ADMIN,
    );
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    const created = r.body.data!.createApiKey;
    id = created.key.id;
    secret = created.secret;
    assert.deepEqual(created.key.limits, {
      requestsPerMinute: 2,
      tokensPerMinute: null,
      maxParallelRequests: null,
      budgetUsd: 1,
      budgetPeriod: 'MONTH',
    });
    assert.equal(created.key.spendUsd, 0);
  });

  it('records the cost of JSON and streamed answers; requestLogs, usage and spendUsd show it', async () => {
    const json = await chat(p.url, secret);
    assert.equal(json.status, 200);
    assert.equal(json.headers.get('x-ratelimit-limit-requests'), '2');
    await json.json();
    const stream = await chat(p.url, secret, { stream: true });
    assert.equal(stream.status, 200);
    await stream.text();
    const third = await chat(p.url, secret);
    assert.equal(third.status, 429, 'the key allows 2 requests per minute');
    await third.text();
    const logs = async () =>
      (
        await gql(
          p.url,
          `{ requestLogs(filter: { keyId: "${id}" }) { nodes { stream status costUsd } } }`,
          undefined,
          ADMIN,
        )
      ).body.data?.requestLogs.nodes as { stream: boolean; status: number; costUsd: number | null }[];
    await eventually(async () => (await logs()).length === 3, 'three records');
    const nodes = await logs();
    // gpt-4o-mini, 11 prompt + 7 completion tokens: 5.85 µ$, recorded as 6 µ$ (rounded up once).
    assert.deepEqual(
      nodes
        .filter((n) => n.status === 200)
        .map((n) => [n.stream, n.costUsd])
        .sort(),
      [
        [false, 0.000006],
        [true, 0.000006],
      ],
    );
    assert.equal(nodes.find((n) => n.status === 429)!.costUsd, null, 'a refused request cost nothing');
    const usage = await gql(p.url, '{ usage(groupBy: KEY) { key costUsd } }', undefined, ADMIN);
    assert.equal(usage.body.data!.usage.find((b: { key: string }) => b.key === id).costUsd, 0.000012);
    const keys = await gql(p.url, `{ apiKeys { ${KEY_FIELDS} } }`, undefined, ADMIN);
    assert.equal(keys.body.data!.apiKeys[0].spendUsd, 0.000012);
  });

  it('updates limits (in force at once), refuses bad ones, and names a missing key', async () => {
    const upd = await gql(
      p.url,
      `mutation { updateApiKeyLimits(id: "${id}", limits: { requestsPerMinute: 10, budgetUsd: 0.000015, budgetPeriod: DAY }) { ${KEY_FIELDS} } }`,
      undefined,
      ADMIN,
    );
    assert.equal(upd.body.errors, undefined, JSON.stringify(upd.body.errors));
    assert.equal(upd.body.data!.updateApiKeyLimits.limits.budgetPeriod, 'DAY');
    // 12 µ$ spent today; a request's worst case is 9 µ$ (30 prompt tokens estimated + 7): over 15 µ$.
    const refused = await chat(p.url, secret, { max_tokens: 7 });
    assert.equal(refused.status, 429);
    assert.equal((await refused.json()).error.type, 'insufficient_quota');
    const bad = await gql(
      p.url,
      `mutation { updateApiKeyLimits(id: "${id}", limits: { requestsPerMinute: 0 }) { id } }`,
      undefined,
      ADMIN,
    );
    assert.deepEqual(codes(bad), ['BAD_USER_INPUT']);
    const missing = await gql(
      p.url,
      'mutation { updateApiKeyLimits(id: "00000000-0000-0000-0000-000000000000", limits: {}) { id } }',
      undefined,
      ADMIN,
    );
    assert.deepEqual(codes(missing), ['NOT_FOUND']);
    const notAdmin = await gql(
      p.url,
      `mutation { updateApiKeyLimits(id: "${id}", limits: {}) { id } }`,
      undefined,
      secret,
    );
    assert.equal(notAdmin.body.data ?? null, null);
  });

  it('rebuilds a budget counter from the recorded spend in a new process', async () => {
    await p.close();
    p = await startStoreParley(env);
    const refused = await chat(p.url, secret, { max_tokens: 7 });
    assert.equal(refused.status, 429, 'the ledger says 12 µ$ of 15 are spent');
    assert.equal(refused.headers.get('x-should-retry'), 'false');
    await refused.text();
    const raise = await gql(
      p.url,
      `mutation { updateApiKeyLimits(id: "${id}", limits: { budgetUsd: 0.001, budgetPeriod: DAY }) { limits { requestsPerMinute budgetUsd } } }`,
      undefined,
      ADMIN,
    );
    assert.deepEqual(raise.body.data!.updateApiKeyLimits.limits, { requestsPerMinute: null, budgetUsd: 0.001 });
    const ok = await chat(p.url, secret, { max_tokens: 7 });
    assert.equal(ok.status, 200);
    await ok.text();
    const cleared = await gql(
      p.url,
      `mutation { updateApiKeyLimits(id: "${id}", limits: {}) { limits { budgetUsd } } }`,
      undefined,
      ADMIN,
    );
    assert.equal(cleared.body.data!.updateApiKeyLimits.limits, null);
  });
});
