/** Registry entry: `type: openai-compatible` in PARLEY_CONFIG, and the `openai` provider OPENAI_API_KEY enables. */
import { type Static, Type } from '@sinclair/typebox';
import { HttpUrl } from '../../config/url.js';
import { Timeouts } from '../config-schemas.js';
import type { ProviderEntry } from '../entry.js';
import { OpenAICompatibleProvider } from './index.js';

const configSchema = Type.Object(
  {
    type: Type.Literal('openai-compatible'),
    baseUrl: HttpUrl({ description: 'e.g. https://api.groq.com/openai/v1' }),
    apiKey: Type.Optional(Type.String()),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    timeouts: Type.Optional(Timeouts),
    /** Request fields this upstream accepts beyond the OpenAI protocol (see protocol/upstream-fields.ts). */
    extraParams: Type.Optional(Type.Array(Type.String())),
    /** Whether to add stream_options.include_usage upstream (some servers reject it). Default true. */
    requestUsage: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const openaiCompatible: ProviderEntry<typeof configSchema> = {
  type: 'openai-compatible',
  configSchema,
  alsoKnownAs: [
    'openai',
    'azure',
    'azure-openai',
    'groq',
    'together',
    'openrouter',
    'ollama',
    'vllm',
    'llama.cpp',
    'llamacpp',
    'lmstudio',
    'mistral',
    'deepseek',
    'fireworks',
  ],
  implicit(settings): Record<string, Static<typeof configSchema>> {
    if (!settings.openaiApiKey) return {};
    return { openai: { type: 'openai-compatible', baseUrl: settings.openaiBaseUrl, apiKey: settings.openaiApiKey } };
  },
  create: (id, p, settings) =>
    new OpenAICompatibleProvider({
      id,
      baseUrl: p.baseUrl,
      apiKey: p.apiKey,
      headers: p.headers,
      firstByteTimeoutMs: p.timeouts?.firstByteMs ?? settings.upstreamFirstByteTimeoutMs,
      idleTimeoutMs: p.timeouts?.idleMs ?? settings.upstreamIdleTimeoutMs,
      maxResponseBytes: settings.upstreamMaxResponseBytes,
      extraParams: p.extraParams,
      requestUsage: p.requestUsage,
    }),
};
