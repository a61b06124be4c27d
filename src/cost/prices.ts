/**
 * The price table Parley ships: USD per million tokens for the models of the families it
 * routes to, kept as data with where each family's figures come from and when they were read.
 * `PARLEY_CONFIG` `prices:` overrides and extends it (config/file.ts). How a model name finds
 * its entry is ./cost.ts's rule (exact, dated suffix stripped, longest prefix).
 *
 * Reasoning tokens are billed as output (all three vendors count them in the completion).
 * `cachedInputPerMTok` absent: cached prompt tokens cost the input price.
 */
export interface Price {
  inputPerMTok: number;
  outputPerMTok: number;
  cachedInputPerMTok?: number;
}

export interface PriceFamily {
  source: string;
  /** When the figures were read from `source` (YYYY-MM). */
  checked: string;
  models: Record<string, Price>;
}

export const PRICE_FAMILIES: Record<string, PriceFamily> = {
  openai: {
    source: 'https://openai.com/api/pricing/',
    checked: '2025-08',
    models: {
      'gpt-5': { inputPerMTok: 1.25, cachedInputPerMTok: 0.125, outputPerMTok: 10 },
      'gpt-5-mini': { inputPerMTok: 0.25, cachedInputPerMTok: 0.025, outputPerMTok: 2 },
      'gpt-5-nano': { inputPerMTok: 0.05, cachedInputPerMTok: 0.005, outputPerMTok: 0.4 },
      'gpt-4.1': { inputPerMTok: 2, cachedInputPerMTok: 0.5, outputPerMTok: 8 },
      'gpt-4.1-mini': { inputPerMTok: 0.4, cachedInputPerMTok: 0.1, outputPerMTok: 1.6 },
      'gpt-4.1-nano': { inputPerMTok: 0.1, cachedInputPerMTok: 0.025, outputPerMTok: 0.4 },
      'gpt-4o': { inputPerMTok: 2.5, cachedInputPerMTok: 1.25, outputPerMTok: 10 },
      'gpt-4o-2024-05-13': { inputPerMTok: 5, outputPerMTok: 15 },
      'gpt-4o-mini': { inputPerMTok: 0.15, cachedInputPerMTok: 0.075, outputPerMTok: 0.6 },
      'gpt-4-turbo': { inputPerMTok: 10, outputPerMTok: 30 },
      'gpt-3.5-turbo': { inputPerMTok: 0.5, outputPerMTok: 1.5 },
      o1: { inputPerMTok: 15, cachedInputPerMTok: 7.5, outputPerMTok: 60 },
      'o1-mini': { inputPerMTok: 1.1, cachedInputPerMTok: 0.55, outputPerMTok: 4.4 },
      o3: { inputPerMTok: 2, cachedInputPerMTok: 0.5, outputPerMTok: 8 },
      'o3-mini': { inputPerMTok: 1.1, cachedInputPerMTok: 0.55, outputPerMTok: 4.4 },
      'o4-mini': { inputPerMTok: 1.1, cachedInputPerMTok: 0.275, outputPerMTok: 4.4 },
    },
  },
  anthropic: {
    source: 'https://docs.anthropic.com/en/docs/about-claude/pricing',
    checked: '2025-08',
    models: {
      'claude-opus-4-1': { inputPerMTok: 15, cachedInputPerMTok: 1.5, outputPerMTok: 75 },
      'claude-opus-4': { inputPerMTok: 15, cachedInputPerMTok: 1.5, outputPerMTok: 75 },
      'claude-sonnet-4-5': { inputPerMTok: 3, cachedInputPerMTok: 0.3, outputPerMTok: 15 },
      'claude-sonnet-4': { inputPerMTok: 3, cachedInputPerMTok: 0.3, outputPerMTok: 15 },
      'claude-3-7-sonnet': { inputPerMTok: 3, cachedInputPerMTok: 0.3, outputPerMTok: 15 },
      'claude-3-5-sonnet': { inputPerMTok: 3, cachedInputPerMTok: 0.3, outputPerMTok: 15 },
      'claude-haiku-4-5': { inputPerMTok: 1, cachedInputPerMTok: 0.1, outputPerMTok: 5 },
      'claude-3-5-haiku': { inputPerMTok: 0.8, cachedInputPerMTok: 0.08, outputPerMTok: 4 },
      'claude-3-haiku': { inputPerMTok: 0.25, cachedInputPerMTok: 0.03, outputPerMTok: 1.25 },
    },
  },
  gemini: {
    source: 'https://ai.google.dev/gemini-api/docs/pricing',
    checked: '2025-08',
    models: {
      // Prompts up to 200k tokens (longer prompts cost more: override under prices: if you send them).
      'gemini-2.5-pro': { inputPerMTok: 1.25, cachedInputPerMTok: 0.31, outputPerMTok: 10 },
      'gemini-2.5-flash': { inputPerMTok: 0.3, cachedInputPerMTok: 0.075, outputPerMTok: 2.5 },
      'gemini-2.5-flash-lite': { inputPerMTok: 0.1, cachedInputPerMTok: 0.025, outputPerMTok: 0.4 },
      'gemini-2.0-flash': { inputPerMTok: 0.1, cachedInputPerMTok: 0.025, outputPerMTok: 0.4 },
      'gemini-2.0-flash-lite': { inputPerMTok: 0.075, outputPerMTok: 0.3 },
      'gemini-1.5-pro': { inputPerMTok: 1.25, outputPerMTok: 5 },
      'gemini-1.5-flash': { inputPerMTok: 0.075, outputPerMTok: 0.3 },
    },
  },
};
