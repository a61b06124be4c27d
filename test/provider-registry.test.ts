/**
 * The provider registry: the PARLEY_CONFIG schema and the provider instances come from its
 * list, so a provider defined elsewhere (here, in this test) plugs in without touching the others.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { readSettings, SettingsError } from '../src/config/env.js';
import { FileConfig, parseFileConfig } from '../src/config/file.js';
import { createProviders } from '../src/providers/create-providers.js';
import type { ProviderEntry } from '../src/providers/entry.js';
import { providerEntries } from '../src/providers/registry.js';
import type { Provider } from '../src/providers/types.js';
import { buildRouter } from '../src/routing/router.js';

const settings = (env: Record<string, string> = {}) => readSettings({ PARLEY_BUILTIN_TOKEN_DELAY_MS: '0', ...env });

describe('provider registry', () => {
  it('lists each type once, and the config file accepts exactly the registered schemas', () => {
    const types = providerEntries.map((e) => e.type);
    assert.deepEqual(types, [...new Set(types)]);
    const providers = FileConfig.properties.providers;
    const union = Object.values(providers.patternProperties as unknown as Record<string, { anyOf: unknown[] }>)[0]!;
    assert.deepEqual(
      union.anyOf,
      providerEntries.map((e) => e.configSchema),
    );
  });

  it('builds the implicit providers: builtin always, openai only with OPENAI_API_KEY', () => {
    assert.deepEqual([...createProviders(settings()).keys()], ['builtin']);
    const withKey = createProviders(settings({ OPENAI_API_KEY: 'sk-x' }));
    assert.deepEqual([...withKey.keys()].sort(), ['builtin', 'openai']);
    assert.equal(withKey.get('openai')!.type, 'openai-compatible');
  });

  it('gives each configured provider its own id, a builtin one included', () => {
    const file = parseFileConfig(
      'providers:\n  offline: { type: builtin }\n  local: { type: openai-compatible, baseUrl: "http://127.0.0.1:9/v1" }',
      'p.yaml',
      {},
    );
    const providers = createProviders(settings(), file);
    assert.equal(providers.get('offline')!.id, 'offline');
    assert.equal(providers.get('local')!.id, 'local');
  });

  it('routes to a provider type registered outside the built-in list', async () => {
    const configSchema = Type.Object(
      { type: Type.Literal('echo'), prefix: Type.String() },
      { additionalProperties: false },
    );
    const echo: ProviderEntry<typeof configSchema> = {
      type: 'echo',
      configSchema,
      create: (id, config): Provider => ({
        id,
        type: 'echo',
        chat: async (req) => ({ kind: 'json', body: JSON.stringify({ text: `${config.prefix}${req.upstreamModel}` }) }),
      }),
    };
    const file = {
      providers: { e: { type: 'echo', prefix: '>' } },
      models: { talk: { provider: 'e', model: 'm1' } },
    } as unknown as FileConfig;
    const s = settings();
    const router = buildRouter(s, file, createProviders(s, file, [...providerEntries, echo]));
    const target = router.resolve('talk').targets[0]!;
    assert.equal(target.provider.type, 'echo');
    const answer = await target.provider.chat({
      request: { model: 'talk', messages: [] } as never,
      upstreamModel: target.model,
      stream: false,
      allowlistOnly: false,
      signal: new AbortController().signal,
      requestId: 'r',
    });
    assert.deepEqual(answer.kind === 'json' && JSON.parse(answer.body), { text: '>m1' });
    await router.close();
  });

  it("routes an implicit provider's model-name prefixes to it, unless an alias of that name exists", async () => {
    const configSchema = Type.Object({ type: Type.Literal('family') }, { additionalProperties: false });
    const family: ProviderEntry<typeof configSchema> = {
      type: 'family',
      configSchema,
      implicit: () => ({ fam: { type: 'family' } }),
      implicitPrefixes: { fam: ['fam-'] },
      create: (id): Provider => ({ id, type: 'family', chat: async () => ({ kind: 'json', body: '{}' }) }),
    };
    const entries = [...providerEntries, family];
    const s = settings({ OPENAI_API_KEY: 'sk-x' });
    const router = buildRouter(s, {}, createProviders(s, {}, entries), entries);
    assert.equal(router.resolve('fam-large').targets[0]!.provider.id, 'fam');
    assert.equal(router.resolve('fam-large').targets[0]!.model, 'fam-large');
    assert.equal(router.resolve('gpt-4o').targets[0]!.provider.id, 'openai');
    await router.close();
    const file = { models: { 'fam-large': { provider: 'builtin', model: 'x' } } } as unknown as FileConfig;
    const aliased = buildRouter(s, file, createProviders(s, file, entries), entries);
    assert.equal(aliased.resolve('fam-large').targets[0]!.provider.id, 'builtin');
    await aliased.close();
    // Without the implicit provider (replaced by a config entry of another type) the prefix means nothing.
    const replaced = { providers: { fam: { type: 'builtin' } } } as unknown as FileConfig;
    const other = buildRouter(s, replaced, createProviders(s, replaced, entries), entries);
    assert.equal(other.resolve('fam-large').targets[0]!.provider.id, 'openai');
    await other.close();
  });
});

describe('routes that name an unconfigured provider stop Parley with the fix', () => {
  it('a target "openai" without OPENAI_API_KEY', () => {
    const file = parseFileConfig(
      'models:\n  voice: { targets: [{ provider: builtin, model: x }, { provider: openai, model: gpt-4o }] }',
      'p.yaml',
      {},
    );
    assert.throws(
      () => buildRouter({ ...settings(), configFile: 'p.yaml' }, file),
      (e: Error) =>
        e instanceof SettingsError &&
        /^PARLEY_CONFIG p\.yaml: models\.voice\.targets\[1\] names provider "openai", which is not configured \(configured: builtin\): set OPENAI_API_KEY/.test(
          e.message,
        ),
    );
  });

  it('defaultProvider "openai" without OPENAI_API_KEY', () => {
    const file = parseFileConfig('defaultProvider: openai', 'p.yaml', {});
    assert.throws(
      () => buildRouter(settings(), file),
      (e: Error) =>
        e instanceof SettingsError && /defaultProvider names provider "openai".*OPENAI_API_KEY/.test(e.message),
    );
  });
});
