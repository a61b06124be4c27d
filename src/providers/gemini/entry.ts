/** Registry entry: `type: gemini` in PARLEY_CONFIG, and the `gemini` provider GEMINI_API_KEY (or GOOGLE_API_KEY) enables. */
import { type Static, Type } from '@sinclair/typebox';
import { HttpUrl } from '../../config/url.js';
import { Timeouts } from '../config-schemas.js';
import type { ProviderEntry } from '../entry.js';
import { GeminiProvider } from './index.js';

export const GEMINI_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';

const configSchema = Type.Object(
  {
    type: Type.Literal('gemini'),
    /** The API root, as in Google's SDKs; Parley adds /v1beta/models/{model}:generateContent. */
    baseUrl: Type.Optional(HttpUrl({ description: `default ${GEMINI_DEFAULT_BASE_URL}` })),
    apiKey: Type.Optional(Type.String()),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    timeouts: Type.Optional(Timeouts),
  },
  { additionalProperties: false },
);

export const gemini: ProviderEntry<typeof configSchema> = {
  type: 'gemini',
  configSchema,
  alsoKnownAs: ['google', 'google-ai', 'googleai', 'google-gemini'],
  implicit(settings): Record<string, Static<typeof configSchema>> {
    if (!settings.geminiApiKey) return {};
    return { gemini: { type: 'gemini', baseUrl: settings.geminiBaseUrl, apiKey: settings.geminiApiKey } };
  },
  implicitPrefixes: { gemini: ['gemini-'] },
  create: (id, p, settings) =>
    new GeminiProvider({
      id,
      baseUrl: p.baseUrl ?? GEMINI_DEFAULT_BASE_URL,
      apiKey: p.apiKey,
      headers: p.headers,
      firstByteTimeoutMs: p.timeouts?.firstByteMs ?? settings.upstreamFirstByteTimeoutMs,
      idleTimeoutMs: p.timeouts?.idleMs ?? settings.upstreamIdleTimeoutMs,
      maxResponseBytes: settings.upstreamMaxResponseBytes,
    }),
};
