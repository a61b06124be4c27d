/**
 * Registry entry: `type: anthropic` in PARLEY_CONFIG, and the `anthropic` provider that
 * ANTHROPIC_API_KEY enables, which answers `claude-*` model names without any config file.
 */
import { type Static, Type } from '@sinclair/typebox';
import { HttpUrl } from '../../config/url.js';
import { Timeouts } from '../config-schemas.js';
import type { ProviderEntry } from '../entry.js';
import { AnthropicProvider } from './index.js';

export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com';

const configSchema = Type.Object(
  {
    type: Type.Literal('anthropic'),
    /** The API root, as in Anthropic's SDKs (requests go to {baseUrl}/v1/messages). */
    baseUrl: Type.Optional(HttpUrl({ description: `default ${ANTHROPIC_DEFAULT_BASE_URL}` })),
    apiKey: Type.Optional(Type.String()),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    timeouts: Type.Optional(Timeouts),
    /** max_tokens for requests that set none (Anthropic requires it); default by model family. */
    defaultMaxTokens: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

export const anthropic: ProviderEntry<typeof configSchema> = {
  type: 'anthropic',
  configSchema,
  alsoKnownAs: ['claude', 'claude-api', 'anthropic-messages'],
  implicit(settings): Record<string, Static<typeof configSchema>> {
    if (!settings.anthropicApiKey) return {};
    return { anthropic: { type: 'anthropic', baseUrl: settings.anthropicBaseUrl, apiKey: settings.anthropicApiKey } };
  },
  implicitPrefixes: { anthropic: ['claude-'] },
  create: (id, p, settings) =>
    new AnthropicProvider({
      id,
      baseUrl: p.baseUrl ?? ANTHROPIC_DEFAULT_BASE_URL,
      apiKey: p.apiKey,
      headers: p.headers,
      firstByteTimeoutMs: p.timeouts?.firstByteMs ?? settings.upstreamFirstByteTimeoutMs,
      idleTimeoutMs: p.timeouts?.idleMs ?? settings.upstreamIdleTimeoutMs,
      maxResponseBytes: settings.upstreamMaxResponseBytes,
      defaultMaxTokens: p.defaultMaxTokens,
    }),
};
