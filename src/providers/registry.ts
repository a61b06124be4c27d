/**
 * Every provider type Parley can build, one line each. The PARLEY_CONFIG `providers` schema
 * (src/config/file.ts) and the provider instances (./create-providers.ts) come from this list.
 * Order matters only for implicit providers: an earlier entry's come first.
 */
import type { Static } from '@sinclair/typebox';
import { anthropic } from './anthropic/entry.js';
import { builtin } from './builtin/entry.js';
import type { ProviderEntry } from './entry.js';
import { gemini } from './gemini/entry.js';
import { openaiCompatible } from './openai-compatible/entry.js';

export const providerEntries = [
  openaiCompatible,
  builtin,
  anthropic,
  gemini,
] as const satisfies readonly ProviderEntry[];

/** One provider's PARLEY_CONFIG entry: the union of every registered provider's config. */
export type ProviderConfig = Static<(typeof providerEntries)[number]['configSchema']>;
