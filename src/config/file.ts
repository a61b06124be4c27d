/**
 * The optional PARLEY_CONFIG file (YAML or JSON): several providers, model aliases,
 * fallbacks. Validated at startup so a typo stops Parley with a message that names
 * the field, instead of surfacing as a 500 on the first request.
 */
import { readFileSync } from 'node:fs';
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { parse as parseYaml } from 'yaml';
import { LimitsConfig } from '../limits/spec.js';
import { type ProviderConfig as ProviderConfigOf, providerEntries } from '../providers/registry.js';
import { SettingsError } from './env.js';
import { closest, firstProblem, shown } from './schema-errors.js';

/** One provider's entry under `providers:`: the union of the registered providers' schemas. */
export const ProviderConfig = Type.Unsafe<ProviderConfigOf>(Type.Union(providerEntries.map((e) => e.configSchema)));
export type ProviderConfig = ProviderConfigOf;

/** What provider names may look like (they appear in logs and usage records). */
const PROVIDER_ID = '^[A-Za-z0-9_.-]+$';

const Target = Type.Object({ provider: Type.String(), model: Type.String() }, { additionalProperties: false });
export type TargetConfig = Static<typeof Target>;

/** OpenAI's reasoning_effort values (the spec's ReasoningEffort enum). */
const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'] as const;

/**
 * What an alias adds to its targets, beside `fallbackReply`: latency bounds for live calls
 * (pipeline/attempts.ts) and voice-aware output (pipeline/voice-output.ts). All off by default.
 */
const AliasOptions = {
  fallbackReply: Type.Optional(Type.String({ minLength: 1 })),
  /** Longest wait, per target, for the first content or tool-call token; then the next target. */
  firstTokenTimeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
  /** After this long without a first token, the next target is started in parallel (first token wins). */
  hedgeAfterMs: Type.Optional(Type.Integer({ minimum: 1 })),
  /** `<think>…</think>` and reasoning fields never reach the client. */
  stripThink: Type.Optional(Type.Boolean()),
  /** Inserted once into a stream's content after its first sentence (Vapi: `<flush />`). */
  flushMarker: Type.Optional(Type.String({ minLength: 1 })),
  /** Sent upstream as reasoning_effort when the client did not set one. */
  reasoningEffort: Type.Optional(Type.Union(REASONING_EFFORTS.map((e) => Type.Literal(e)))),
};
/** The voice platform an alias serves, for its usage records (vapi, elevenlabs, livekit, … or a name of your own). */
const Platform = Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,39}$' });

const ModelConfig = Type.Union([
  Type.Object(
    {
      provider: Type.String(),
      model: Type.String(),
      ...AliasOptions,
      platform: Type.Optional(Platform),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      /** Tried in order until one answers before its first byte. */
      targets: Type.Array(Target, { minItems: 1 }),
      ...AliasOptions,
      platform: Type.Optional(Platform),
    },
    { additionalProperties: false },
  ),
]);
export type ModelConfig = Static<typeof ModelConfig>;

const usdPerMTok = Type.Number({ minimum: 0, maximum: 1_000_000 });
const PriceConfig = Type.Object(
  { inputPerMTok: usdPerMTok, outputPerMTok: usdPerMTok, cachedInputPerMTok: Type.Optional(usdPerMTok) },
  { additionalProperties: false },
);

export const FileConfig = Type.Object(
  {
    // additionalProperties: without it TypeBox lets a name outside the pattern through unchecked.
    providers: Type.Optional(
      Type.Record(Type.String({ pattern: PROVIDER_ID }), ProviderConfig, { additionalProperties: false }),
    ),
    models: Type.Optional(Type.Record(Type.String({ minLength: 1 }), ModelConfig)),
    /** Provider that receives model names not in `models` (default: "openai" when configured). */
    defaultProvider: Type.Optional(Type.String()),
    /** USD per million tokens by upstream model name; overrides and extends the shipped table (cost/prices.ts). */
    prices: Type.Optional(Type.Record(Type.String({ minLength: 1 }), PriceConfig)),
    /** Rate limits and budgets for environment keys and for models (docs/limits.md). */
    limits: Type.Optional(LimitsConfig),
  },
  { additionalProperties: false },
);
export type FileConfig = Static<typeof FileConfig>;

const check = TypeCompiler.Compile(FileConfig);

/**
 * The first problem under `providers`, checked the way a person reads an entry: the name, then
 * `type` (listing the registered types), then that type's own schema. Checked as the union,
 * every mistake would read "Expected union value".
 */
function providersProblem(data: unknown): string | null {
  const providers = (data as { providers?: unknown } | null)?.providers;
  if (providers === null || typeof providers !== 'object' || Array.isArray(providers)) return null;
  const types = providerEntries.map((e) => e.type);
  for (const [id, p] of Object.entries(providers)) {
    const path = `/providers/${id.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (!new RegExp(PROVIDER_ID).test(id))
      return `${path}: a provider name may contain only letters, digits, "_", "." and "-"`;
    if (p === null || typeof p !== 'object' || Array.isArray(p))
      return `${path}: expected a mapping with a type (${types.join(', ')}); got ${shown(p)}`;
    const type = (p as { type?: unknown }).type;
    const entry = providerEntries.find((e) => e.type === type);
    if (!entry) {
      const got = type === undefined ? 'is missing' : `is ${shown(type)}`;
      const meant =
        typeof type === 'string'
          ? (providerEntries.find((e) => e.alsoKnownAs?.includes(type.toLowerCase()))?.type ?? closest(type, types))
          : undefined;
      return `${path}/type ${got}; it must be one of: ${types.join(', ')}${meant ? ` — did you mean type: ${meant}?` : ''}`;
    }
    const problem = firstProblem(entry.configSchema, p, path);
    if (problem) return problem;
  }
  return null;
}

/** Replaces ${VAR} with the environment's value so secrets stay out of the file. */
function interpolate(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = env[name];
    if (v === undefined) throw new SettingsError(`PARLEY_CONFIG refers to \${${name}}, which is not set`);
    return v;
  });
}

/** Providers that may exist without a config entry: builtin, and those environment settings enable. */
const IMPLICIT_IDS = new Set([
  'builtin',
  'openai',
  ...providerEntries.flatMap((e) => Object.keys(e.implicitPrefixes ?? {})),
]);

export function parseFileConfig(text: string, source: string, env: NodeJS.ProcessEnv = process.env): FileConfig {
  let data: unknown;
  try {
    data = source.endsWith('.json') ? JSON.parse(interpolate(text, env)) : parseYaml(interpolate(text, env));
  } catch (err) {
    if (err instanceof SettingsError) throw err;
    throw new SettingsError(
      `PARLEY_CONFIG ${source} is not valid ${source.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
    );
  }
  data ??= {};
  if (!check.Check(data)) {
    // Only on failure (startup, once): the compiled check above is the fast path.
    const problem = providersProblem(data) ?? firstProblem(FileConfig, data) ?? 'invalid';
    throw new SettingsError(`PARLEY_CONFIG ${source}: ${problem}`);
  }
  const cfg = data as FileConfig;
  const providers = new Set(Object.keys(cfg.providers ?? {}));
  // "openai" exists only with OPENAI_API_KEY, "anthropic" with ANTHROPIC_API_KEY…: the router
  // checks those (it knows the settings).
  const known = (name: string) => providers.has(name) || IMPLICIT_IDS.has(name);
  for (const [alias, m] of Object.entries(cfg.models ?? {})) {
    for (const t of 'targets' in m ? m.targets : [m]) {
      if (!known(t.provider)) {
        throw new SettingsError(
          `PARLEY_CONFIG ${source}: models.${alias} uses provider "${t.provider}", which is not defined under providers`,
        );
      }
    }
  }
  for (const [alias, m] of Object.entries(cfg.models ?? {})) {
    if (
      m.hedgeAfterMs !== undefined &&
      m.firstTokenTimeoutMs !== undefined &&
      m.hedgeAfterMs >= m.firstTokenTimeoutMs
    ) {
      throw new SettingsError(
        `PARLEY_CONFIG ${source}: models.${alias}.hedgeAfterMs (${m.hedgeAfterMs}) must be less than its firstTokenTimeoutMs (${m.firstTokenTimeoutMs}), or the deadline moves on before the hedge starts: lower hedgeAfterMs`,
      );
    }
  }
  if (cfg.defaultProvider !== undefined && !known(cfg.defaultProvider)) {
    throw new SettingsError(
      `PARLEY_CONFIG ${source}: defaultProvider "${cfg.defaultProvider}" is not defined under providers`,
    );
  }
  return cfg;
}

export function loadFileConfig(path: string, env: NodeJS.ProcessEnv = process.env): FileConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SettingsError(`PARLEY_CONFIG ${path} cannot be read: ${(err as Error).message}`);
  }
  return parseFileConfig(text, path, env);
}
