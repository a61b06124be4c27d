/**
 * Model discovery (issue 10, 3.5): GET /v1/models lists Parley's aliases and the default
 * upstream's own models, fetched from its GET /models at most once a minute and never waited
 * on longer than UPSTREAM_MODELS_TIMEOUT_MS; with no upstream, a 404 says which models exist.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import { readSettings, SettingsError } from '../src/config/env.js';
import { LIST_TTL_MS, RETRY_MS, UpstreamModels } from '../src/routing/model-list.js';
import { type MockUpstream, type ModelsScenario, startMockUpstream } from './helpers/mock-upstream.js';
import { assertSpec } from './helpers/openai-spec.js';
import { postJson, startParley, type TestParley } from './helpers/parley.js';

const offlineAlias = {
  providers: { offline: { type: 'builtin' as const } },
  models: { fast: { provider: 'offline', model: 'parley-offline' } },
};

async function listModels(p: TestParley): Promise<{ id: string; owned_by: string }[]> {
  // The timeout bounds a hang, should Parley wait on a dead upstream.
  const res = await fetch(`${p.url}/v1/models`, { signal: AbortSignal.timeout(5_000) });
  assert.equal(res.status, 200);
  const body = await res.json();
  assertSpec('ListModelsResponse', body);
  return body.data;
}

describe('GET /v1/models with an upstream', () => {
  let up: MockUpstream;
  before(async () => {
    up = await startMockUpstream();
  });
  after(() => up.close());

  it("lists the default upstream's models after the aliases, asking the upstream once for many requests", async () => {
    up.models = { kind: 'list', ids: ['gpt-4o-mini', 'gpt-4o', 'fast'] };
    const p = await startParley({ OPENAI_API_KEY: 'sk-up', OPENAI_BASE_URL: up.url }, offlineAlias);
    try {
      const before = up.modelRequests;
      const lists = await Promise.all([listModels(p), listModels(p), listModels(p)]);
      // An alias of the same name as an upstream model is listed once, as the alias.
      for (const models of lists)
        assert.deepEqual(
          models.map((m) => `${m.id}@${m.owned_by}`),
          ['fast@offline', 'default@openai', 'gpt-4o-mini@mock-org', 'gpt-4o@mock-org'],
        );
      up.models = { kind: 'list', ids: ['changed'] };
      assert.deepEqual(
        (await listModels(p)).map((m) => m.id),
        lists[0]!.map((m) => m.id),
        'served from the cache',
      );
      assert.equal(up.modelRequests - before, 1, 'one fetch for four requests');
      assert.equal(up.modelRequestHeaders?.authorization, 'Bearer sk-up', "with Parley's key for that upstream");
    } finally {
      await p.close();
    }
  });

  const failures: [string, ModelsScenario][] = [
    ['hangs', { kind: 'hang' }],
    ['answers 500', { kind: 'error', status: 500 }],
    ['answers 401', { kind: 'error', status: 401 }],
    ['answers HTML', { kind: 'raw', body: '<html>login</html>' }],
    ['answers JSON that is no model list', { kind: 'raw', body: '{"data":"none"}' }],
  ];
  for (const [what, scenario] of failures) {
    it(`lists the aliases alone when the upstream ${what}`, async () => {
      up.models = scenario;
      const p = await startParley(
        { OPENAI_API_KEY: 'sk-up', OPENAI_BASE_URL: up.url, UPSTREAM_MODELS_TIMEOUT_MS: '200' },
        offlineAlias,
      );
      try {
        assert.deepEqual(
          (await listModels(p)).map((m) => m.id),
          ['fast', 'default'],
        );
        // Chat is unaffected.
        assert.equal(
          (
            await postJson(`${p.url}/v1/chat/completions`, {
              model: 'fast',
              messages: [{ role: 'user', content: 'hi' }],
            })
          ).status,
          200,
        );
      } finally {
        await p.close();
      }
    });
  }
});

describe('the upstream model list cache', () => {
  it('keeps a list for LIST_TTL_MS and remembers a failure for RETRY_MS', async () => {
    mock.timers.enable({ apis: ['Date'], now: 0 });
    try {
      let calls = 0;
      let fail = true;
      const lister = {
        id: 'up',
        async listModels() {
          calls++;
          if (fail) throw new Error('down');
          return [{ id: 'm', created: 1, owned_by: 'up' }];
        },
      };
      const errors: unknown[] = [];
      const models = new UpstreamModels(lister, 1_000);
      assert.deepEqual(await models.get((e) => errors.push(e)), []);
      assert.equal(errors.length, 1);
      mock.timers.tick(RETRY_MS - 1);
      assert.deepEqual(await models.get(), []);
      assert.equal(calls, 1, 'a failure is not retried at once');
      fail = false;
      mock.timers.tick(1);
      assert.deepEqual(
        (await models.get()).map((m) => m.id),
        ['m'],
      );
      assert.equal(calls, 2);
      fail = true;
      mock.timers.tick(LIST_TTL_MS - 1);
      assert.deepEqual(
        (await models.get()).map((m) => m.id),
        ['m'],
      );
      assert.equal(calls, 2, 'served from the cache');
      mock.timers.tick(1);
      assert.deepEqual(await models.get(), [], 'asked again, and its failure leaves the aliases alone');
      assert.equal(calls, 3);
    } finally {
      mock.timers.reset();
    }
  });

  it('has a validated timeout setting', () => {
    assert.equal(readSettings({}).upstreamModelsTimeoutMs, 5_000);
    assert.throws(
      () => readSettings({ UPSTREAM_MODELS_TIMEOUT_MS: 'soon' }),
      (e: Error) => e instanceof SettingsError && /UPSTREAM_MODELS_TIMEOUT_MS/.test(e.message),
    );
  });
});

describe('without an upstream', () => {
  it('answers an unknown model with 404 naming the models that exist', async () => {
    const p = await startParley({}, offlineAlias);
    try {
      const res = await postJson(`${p.url}/v1/chat/completions`, {
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'hi' }],
      });
      assert.equal(res.status, 404);
      const body = await res.json();
      assertSpec('ErrorResponse', body);
      assert.equal(body.error.code, 'model_not_found');
      assert.equal(
        body.error.message,
        'The model `gpt-4o` does not exist or you do not have access to it. The models this server routes are: `fast`, `default`.',
      );
    } finally {
      await p.close();
    }
  });
});
