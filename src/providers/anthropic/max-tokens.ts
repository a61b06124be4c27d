/**
 * Anthropic requires `max_tokens` on every request; OpenAI clients usually send none. When the
 * client sets neither max_completion_tokens nor max_tokens, the provider's `defaultMaxTokens`
 * applies, else this table, by model family (first match wins):
 *
 * - Claude 3 (claude-3-opus/sonnet/haiku-…): 4,096, the most those models can write at all.
 * - every later Claude (3.5, 3.7, 4.x and whatever comes next): 8,192 — the 3.5 family's
 *   maximum and enough for any chat answer; later models could write more, but an answer longer
 *   than that is something a client should ask for (max_tokens) rather than get by default,
 *   since a runaway answer costs up to this many tokens.
 * - any other name (a custom deployment behind ANTHROPIC_BASE_URL): 4,096, which every Claude
 *   model accepts.
 */
const FAMILIES: readonly (readonly [RegExp, number])[] = [
  [/^claude-3-(opus|sonnet|haiku)(-|$)/, 4096],
  [/^claude-/, 8192],
];

const OTHER = 4096;

export function defaultMaxTokens(model: string): number {
  for (const [pattern, tokens] of FAMILIES) if (pattern.test(model)) return tokens;
  return OTHER;
}
