/** The Anthropic provider's settings: ANTHROPIC_* variables, its PARLEY_CONFIG entry, its timeouts. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readSettings, SettingsError } from '../src/config/env.js';
import { parseFileConfig } from '../src/config/file.js';
import { buildRouter } from '../src/routing/router.js';
import { MODELS, type MockAnthropic, startMockAnthropic } from './helpers/mock-anthropic.js';
import { postJson, startParley, type TestParley } from './helpers/parley.js';

const problem = (yaml: string): string => {
  try {
    parseFileConfig(yaml, 'parley.yaml', {});
  } catch (e) {
    assert.ok(e instanceof SettingsError);
    return e.message;
  }
  assert.fail('the config was accepted');
};

describe('Anthropic settings', () => {
  it('ANTHROPIC_BASE_URL: default, trailing slash dropped, a URL without scheme refused by name', () => {
    assert.equal(readSettings({}).anthropicBaseUrl, 'https://api.anthropic.com');
    assert.equal(readSettings({}).anthropicApiKey, undefined);
    assert.equal(
      readSettings({ ANTHROPIC_BASE_URL: 'http://127.0.0.1:9999/' }).anthropicBaseUrl,
      'http://127.0.0.1:9999',
    );
    assert.throws(
      () => readSettings({ ANTHROPIC_BASE_URL: 'api.anthropic.com' }),
      (e: Error) => e instanceof SettingsError && /^ANTHROPIC_BASE_URL .*has no scheme/.test(e.message),
    );
  });

  it('PARLEY_CONFIG: type claude suggests anthropic; its own fields are checked', () => {
    assert.match(problem('providers:\n  c: { type: claude }'), /did you mean type: anthropic\?$/);
    assert.match(
      problem('providers:\n  c: { type: anthropic, defaultMaxTokens: 0 }'),
      /\/providers\/c\/defaultMaxTokens/,
    );
    assert.match(problem('providers:\n  c: { type: anthropic, base_url: https://x }'), /did you mean baseUrl\?/);
    assert.doesNotThrow(() =>
      parseFileConfig('providers:\n  c: { type: anthropic, apiKey: k, defaultMaxTokens: 2048 }', 'parley.yaml', {}),
    );
  });

  it('an alias may name the anthropic provider ANTHROPIC_API_KEY enables; without the key, startup names it', () => {
    const file = parseFileConfig('models:\n  smart: { provider: anthropic, model: claude-opus-4-1 }', 'p.yaml', {});
    const router = buildRouter(readSettings({ ANTHROPIC_API_KEY: 'k' }), file);
    assert.equal(router.resolve('smart').targets[0]!.provider.type, 'anthropic');
    void router.close();
    assert.throws(
      () => buildRouter(readSettings({}), file),
      (e: Error) =>
        e instanceof SettingsError &&
        /provider "anthropic", which is not configured .*: set ANTHROPIC_API_KEY/.test(e.message),
    );
  });

  it('an alias of a claude- name wins over the prefix route', () => {
    const file = parseFileConfig('models:\n  claude-fast: { provider: builtin, model: parley-offline }', 'p.yaml', {});
    const router = buildRouter(readSettings({ ANTHROPIC_API_KEY: 'k' }), file);
    assert.equal(router.resolve('claude-fast').targets[0]!.provider.type, 'builtin');
    assert.equal(router.resolve('claude-other').targets[0]!.provider.type, 'anthropic');
    void router.close();
  });
});

describe('an anthropic provider’s timeouts', () => {
  let claude: MockAnthropic;
  let p: TestParley;
  before(async () => {
    claude = await startMockAnthropic();
    claude.scenarios.set('*', { kind: 'hang' });
    p = await startParley(
      {},
      {
        providers: { c: { type: 'anthropic', baseUrl: claude.url, apiKey: 'k', timeouts: { firstByteMs: 300 } } },
        models: { slow: { provider: 'c', model: 'claude-x' } },
      },
    );
  });
  after(async () => {
    await p.close();
    await claude.close();
  });

  it('applies timeouts.firstByteMs: an Anthropic that never answers is a 504', { timeout: 20_000 }, async () => {
    const res = await postJson(`${p.url}/v1/chat/completions`, {
      model: 'slow',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(res.status, 504);
    assert.equal((await res.json()).error.type, 'timeout_error');
  });
});

describe('anthropic as the default provider', () => {
  let claude: MockAnthropic;
  let p: TestParley;
  before(async () => {
    claude = await startMockAnthropic();
    p = await startParley(
      {},
      {
        providers: { claude: { type: 'anthropic', baseUrl: claude.url, apiKey: 'k' } },
        models: { smart: { provider: 'claude', model: 'claude-sonnet-4-5' } },
        defaultProvider: 'claude',
      },
    );
  });
  after(async () => {
    await p.close();
    await claude.close();
  });

  it('GET /v1/models lists the aliases, then the models Anthropic lists', async () => {
    const res = await fetch(`${p.url}/v1/models`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { data: { id: string; owned_by: string; created: number }[] };
    assert.deepEqual(
      body.data.map((m) => m.id),
      ['smart', 'default', ...MODELS.map(([id]) => id)],
    );
    const sonnet = body.data.find((m) => m.id === MODELS[0]![0])!;
    assert.equal(sonnet.owned_by, 'anthropic');
    assert.equal(sonnet.created, Date.parse(MODELS[0]![2]) / 1000);
  });

  it('names that are no alias go to Anthropic unchanged', async () => {
    const res = await postJson(`${p.url}/v1/chat/completions`, {
      model: 'claude-opus-4-1',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).model, 'claude-opus-4-1');
  });
});
