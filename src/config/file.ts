/**
 * The optional PARLEY_CONFIG file (YAML or JSON): several providers, model aliases,
 * fallbacks. Validated at startup so a typo stops Parley with a message that names
 * the field, instead of surfacing as a 500 on the first request.
 */
import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { parse as parseYaml } from 'yaml';
import { SettingsError } from './env.js';

const Timeouts = Type.Object(
  {
    firstByteMs: Type.Optional(Type.Integer({ minimum: 1 })),
    idleMs: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

export const ProviderConfig = Type.Union([
  Type.Object(
    {
      type: Type.Literal('openai-compatible'),
      baseUrl: Type.String({ pattern: '^https?://' }),
      apiKey: Type.Optional(Type.String()),
      headers: Type.Optional(Type.Record(Type.String(), Type.String())),
      timeouts: Type.Optional(Timeouts),
      /** Request fields this upstream accepts beyond the OpenAI protocol (see protocol/upstream-fields.ts). */
      extraParams: Type.Optional(Type.Array(Type.String())),
      /** Whether to add stream_options.include_usage upstream (some servers reject it). Default true. */
      requestUsage: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
  Type.Object({ type: Type.Literal('builtin') }, { additionalProperties: false }),
]);
export type ProviderConfig = Static<typeof ProviderConfig>;

const Target = Type.Object({ provider: Type.String(), model: Type.String() }, { additionalProperties: false });
export type TargetConfig = Static<typeof Target>;

const ModelConfig = Type.Union([
  Type.Object(
    {
      provider: Type.String(),
      model: Type.String(),
      fallbackReply: Type.Optional(Type.String({ minLength: 1 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      /** Tried in order until one answers before its first byte. */
      targets: Type.Array(Target, { minItems: 1 }),
      fallbackReply: Type.Optional(Type.String({ minLength: 1 })),
    },
    { additionalProperties: false },
  ),
]);

export const FileConfig = Type.Object(
  {
    providers: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]+$' }), ProviderConfig)),
    models: Type.Optional(Type.Record(Type.String({ minLength: 1 }), ModelConfig)),
    /** Provider that receives model names not in `models` (default: "openai" when configured). */
    defaultProvider: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type FileConfig = Static<typeof FileConfig>;

const check = TypeCompiler.Compile(FileConfig);

/** Replaces ${VAR} with the environment's value so secrets stay out of the file. */
function interpolate(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = env[name];
    if (v === undefined) throw new SettingsError(`PARLEY_CONFIG refers to \${${name}}, which is not set`);
    return v;
  });
}

export function parseFileConfig(text: string, source: string, env: NodeJS.ProcessEnv = process.env): FileConfig {
  let data: unknown;
  try {
    data = source.endsWith('.json') ? JSON.parse(interpolate(text, env)) : parseYaml(interpolate(text, env));
  } catch (err) {
    if (err instanceof SettingsError) throw err;
    throw new SettingsError(`PARLEY_CONFIG ${source} is not valid ${source.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  data ??= {};
  if (!check.Check(data)) {
    const problems = [...check.Errors(data)].slice(0, 5).map((e) => `  ${e.path || '/'}: ${e.message}`);
    throw new SettingsError(`PARLEY_CONFIG ${source} is invalid:\n${problems.join('\n')}`);
  }
  const cfg = data as FileConfig;
  const providers = new Set(Object.keys(cfg.providers ?? {}));
  for (const [alias, m] of Object.entries(cfg.models ?? {})) {
    for (const t of 'targets' in m ? m.targets : [m]) {
      if (!providers.has(t.provider) && t.provider !== 'builtin' && t.provider !== 'openai') {
        throw new SettingsError(`PARLEY_CONFIG ${source}: models.${alias} uses provider "${t.provider}", which is not defined under providers`);
      }
    }
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
