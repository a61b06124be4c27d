/**
 * OpenAI fields that voice frameworks send in combinations OpenAI itself refuses.
 *
 * Pipecat (and some LiveKit setups) send both `max_tokens` and `max_completion_tokens`;
 * api.openai.com answers that with 400 "Setting 'max_tokens' and 'max_completion_tokens' at
 * the same time is not supported" (invalid_parameter_combination). Parley keeps
 * `max_completion_tokens` (the current name; o-series and gpt-5 models refuse `max_tokens`)
 * with the smaller of the two values, so the caller's tighter bound holds. Applied to every
 * request: no client gains from the 400.
 */
import type { Obj } from './platform.js';

export function normaliseTokenLimits(body: Obj): Obj {
  if (body.max_tokens == null || body.max_completion_tokens == null) return body;
  const { max_tokens: legacy, ...out } = body;
  const current = body.max_completion_tokens;
  // Anything but two numbers is left for validation to refuse with its own message.
  if (typeof legacy !== 'number' || typeof current !== 'number') return body;
  out.max_completion_tokens = Math.min(legacy, current);
  return out;
}
