/** Settings and the PARLEY_CONFIG file are validated at startup with messages that name the problem. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { buildSchemas, DEFAULT_SPEC, SCHEMAS_OUT } from '../scripts/gen-openai-schemas.js';
import { readSettings, SettingsError } from '../src/config/env.js';
import { parseFileConfig } from '../src/config/file.js';
import { HAVE_OPENAI_SPEC } from './helpers/openai-spec.js';

describe('settings', () => {
  it('has the documented defaults', () => {
    const s = readSettings({});
    assert.equal(s.port, 8000);
    assert.equal(s.host, '127.0.0.1');
    assert.equal(s.bodyLimitBytes, 32 * 1024 * 1024);
    assert.equal(s.openaiBaseUrl, 'https://api.openai.com/v1');
    assert.deepEqual(s.apiKeys, []);
    assert.equal(s.upstreamFields, 'auto');
    assert.match(s.dataDir, /\/data$/);
  });

  it('rejects bad values with the variable name', () => {
    assert.throws(
      () => readSettings({ PORT: 'eighty' }),
      (e: Error) => e instanceof SettingsError && /PORT/.test(e.message),
    );
    assert.throws(() => readSettings({ LOG_LEVEL: 'loud' }), /LOG_LEVEL/);
    assert.throws(() => readSettings({ PARLEY_UPSTREAM_FIELDS: 'some' }), /PARLEY_UPSTREAM_FIELDS/);
    assert.throws(
      () => readSettings({ OPENAI_BASE_URL: 'localhost:11434/v1' }),
      (e: Error) => e instanceof SettingsError && /^OPENAI_BASE_URL .*has no scheme/.test(e.message),
    );
    assert.throws(
      () => readSettings({ DATABASE_URL: 'mysql://u:pw@h/db' }),
      (e: Error) =>
        e instanceof SettingsError && /^DATABASE_URL must be a PostgreSQL URL/.test(e.message) && !/pw/.test(e.message),
    );
    assert.equal(readSettings({ DATABASE_URL: 'postgresql://u@h/db' }).databaseUrl, 'postgresql://u@h/db');
  });
});

describe('PARLEY_CONFIG file', () => {
  const yaml = `
providers:
  groq:
    type: openai-compatible
    baseUrl: https://api.groq.com/openai/v1
    apiKey: \${GROQ_KEY}
models:
  fast: { provider: groq, model: llama-3.1-8b-instant }
  voice:
    targets:
      - { provider: groq, model: llama-3.3-70b }
      - { provider: builtin, model: parley-offline }
    fallbackReply: Sorry, give me a moment.
`;

  it('parses YAML and fills $' + '{VAR} from the environment', () => {
    const cfg = parseFileConfig(yaml, 'parley.yaml', { GROQ_KEY: 'gsk-1' });
    const groq = cfg.providers!.groq!;
    assert.equal(groq.type === 'openai-compatible' && groq.apiKey, 'gsk-1');
    assert.equal(cfg.models!.voice && 'targets' in cfg.models!.voice && cfg.models!.voice.targets.length, 2);
  });

  it('parses JSON', () => {
    const cfg = parseFileConfig('{"models":{"a":{"provider":"builtin","model":"parley-offline"}}}', 'parley.json', {});
    assert.ok(cfg.models!.a);
  });

  it('names a missing variable, a bad field, an unknown provider, and invalid syntax', () => {
    assert.throws(() => parseFileConfig(yaml, 'parley.yaml', {}), /\$\{GROQ_KEY\}/);
    assert.throws(
      () => parseFileConfig('providers:\n  x: { type: openai-compatible, baseUrl: ftp://x }', 'p.yaml', {}),
      /\/providers\/x/,
    );
    assert.throws(
      () => parseFileConfig('models:\n  a: { provider: nowhere, model: m }', 'p.yaml', {}),
      /provider "nowhere"/,
    );
    assert.throws(() => parseFileConfig('models: [', 'p.yaml', {}), /not valid YAML/);
    assert.throws(() => parseFileConfig('{"models": 1}', 'p.json', {}), /\/models: expected a mapping/);
  });
});

describe('PARLEY_CONFIG errors name the field, what it must be, and the likely fix', () => {
  /** The one-line message parseFileConfig stops Parley with. */
  const problem = (yaml: string): string => {
    try {
      parseFileConfig(yaml, 'parley.yaml', {});
    } catch (err) {
      assert.ok(err instanceof SettingsError, String(err));
      assert.doesNotMatch(err.message, /\n|union value/);
      return err.message;
    }
    assert.fail('the config was accepted');
  };

  it('type: ollama lists the allowed types and suggests openai-compatible', () => {
    const msg = problem('providers:\n  local: { type: ollama, baseUrl: http://127.0.0.1:11434/v1 }');
    assert.match(
      msg,
      /^PARLEY_CONFIG parley\.yaml: \/providers\/local\/type is "ollama"; it must be one of: openai-compatible, builtin, anthropic, gemini — did you mean type: openai-compatible\?$/,
    );
  });

  it('a missing type lists the allowed types', () => {
    assert.match(
      problem('providers:\n  local: { baseUrl: http://x }'),
      /\/providers\/local\/type is missing; it must be one of: openai-compatible, builtin/,
    );
  });

  it('base_url instead of baseUrl: "did you mean baseUrl?"', () => {
    const msg = problem('providers:\n  local: { type: openai-compatible, base_url: http://127.0.0.1:11434/v1 }');
    assert.match(msg, /\/providers\/local: unknown field "base_url" — did you mean baseUrl\?/);
  });

  it('a baseUrl without scheme names the field and shows it with one', () => {
    const msg = problem('providers:\n  local: { type: openai-compatible, baseUrl: localhost:11434/v1 }');
    assert.match(
      msg,
      /\/providers\/local\/baseUrl: "localhost:11434\/v1" has no scheme: write "http:\/\/localhost:11434\/v1"/,
    );
  });

  it('a baseUrl that would make `new URL` throw is refused here, not when the provider is built', () => {
    assert.match(
      problem('providers:\n  local: { type: openai-compatible, baseUrl: "http://[bad" }'),
      /\/providers\/local\/baseUrl: "http:\/\/\[bad" is not a valid URL/,
    );
  });

  it('firstByteMs: "10s" names the field, expects an integer of milliseconds, and gives the number', () => {
    const msg = problem(
      'providers:\n  local: { type: openai-compatible, baseUrl: http://x, timeouts: { firstByteMs: "10s" } }',
    );
    assert.match(
      msg,
      /\/providers\/local\/timeouts\/firstByteMs: expected an integer >= 1 \(milliseconds\); got "10s" — write milliseconds as a plain number: 10000/,
    );
  });

  it('a provider name outside the allowed characters is refused (TypeBox let it through unchecked)', () => {
    assert.match(
      problem('providers:\n  "my provider": { type: builtin }'),
      /\/providers\/my provider: a provider name may contain only/,
    );
  });

  it('models: the alias\'s own mistake, not "Expected union value"', () => {
    assert.match(
      problem('models:\n  a: { targets: [{ provider: builtin, modl: x }] }'),
      /\/models\/a\/targets\/0: unknown field "modl" — did you mean model\?/,
    );
    assert.match(problem('models:\n  a: { provider: builtin }'), /\/models\/a: model is missing/);
  });

  it('a top-level snake_case key gets its camelCase name', () => {
    assert.match(
      problem('default_provider: openai'),
      /unknown field "default_provider" — did you mean defaultProvider\?/,
    );
  });

  it('a defaultProvider that names no provider', () => {
    assert.match(problem('defaultProvider: nowhere'), /defaultProvider "nowhere" is not defined under providers/);
  });
});

/**
 * The official spec as the drift check reads it: ../shared/spec when it sits beside the project,
 * else the committed copy (test/fixtures/openai-openapi.yaml.gz), so CI's clone runs the check too.
 */
const VENDORED_SPEC = new URL('./fixtures/openai-openapi.yaml.gz', import.meta.url);
const vendoredSpec = () => gunzipSync(readFileSync(VENDORED_SPEC)).toString('utf8');

describe('generated protocol schemas', () => {
  it('match the official OpenAI spec (rerun npm run gen:schemas when the spec changes)', () => {
    const spec = HAVE_OPENAI_SPEC ? readFileSync(DEFAULT_SPEC, 'utf8') : vendoredSpec();
    const fresh = buildSchemas(spec);
    const committed = JSON.parse(readFileSync(SCHEMAS_OUT, 'utf8'));
    assert.deepEqual(committed, JSON.parse(JSON.stringify(fresh)));
  });

  it('the committed copy of the spec is the one beside the project (gzip -9 -n it again when that changes)', {
    skip: HAVE_OPENAI_SPEC ? false : `${DEFAULT_SPEC} not found: the committed copy is used`,
  }, () => {
    assert.equal(vendoredSpec(), readFileSync(DEFAULT_SPEC, 'utf8'));
  });
});
