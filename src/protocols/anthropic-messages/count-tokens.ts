/**
 * POST /v1/messages/count_tokens: the prompt's tokens, counted with Parley's tokenizer
 * (usage/tokens.ts) on the request as the pipeline would send it. The count is exact for
 * OpenAI's current models and an estimate within a few percent for others (Claude's tokenizer
 * is not public), which is what clients use it for: deciding when a conversation must be
 * compacted. An image counts as IMAGE_TOKENS, the most Anthropic charges for one after
 * resizing (about 1.15 megapixels / 750), since its size is not decoded here.
 */
import { estimatePromptTokens } from '../../usage/tokens.js';
import { toChatPrompt } from './request.js';
import type { CountTokensRequest } from './schema.js';

export const IMAGE_TOKENS = 1600;

export function countInputTokens(req: CountTokensRequest): number {
  return estimatePromptTokens(toChatPrompt(req)) + imageTokens(req);
}

/** The tokens the request's images cost (IMAGE_TOKENS each), in messages and tool results. */
export function imageTokens(req: Pick<CountTokensRequest, 'messages'>): number {
  let images = 0;
  for (const m of req.messages) {
    if (typeof m.content === 'string') continue;
    for (const b of m.content) {
      if (b.type === 'image') images++;
      else if (b.type === 'tool_result' && Array.isArray(b.content))
        images += b.content.filter((c) => c.type === 'image').length;
    }
  }
  return images * IMAGE_TOKENS;
}
