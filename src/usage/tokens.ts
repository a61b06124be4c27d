/**
 * Token counts Parley computes itself, with a real BPE tokenizer (gpt-tokenizer's o200k_base,
 * the encoding of OpenAI's current models) rather than a character heuristic. Used where the
 * upstream's own count is missing or not yet known: a stream cut before its usage arrived,
 * a limit's reservation before the call, an estimated `input_tokens` at a stream's start.
 * For other families (Claude, Gemini) the count is an estimate within a few percent; the
 * upstream's own usage replaces it whenever the upstream reports one.
 */
import { countTokens as bpeCount } from 'gpt-tokenizer';
import type { ChatRequest } from '../protocol/chat.js';

/** What OpenAI adds per message (role and separators) and once per reply (the priming). */
const PER_MESSAGE = 3;
const PER_REPLY = 3;

/** Tokens in a piece of text. */
export function countTokens(text: string): number {
  return text === '' ? 0 : bpeCount(text);
}

/** The text a message's content carries: a string, or the text of its text parts. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const part of content as { type?: unknown; text?: unknown }[]) {
    if (part && typeof part.text === 'string') out += part.text;
  }
  return out;
}

/**
 * The prompt tokens a chat request will cost, estimated: every message's text, name and tool
 * calls, and the tool definitions, plus OpenAI's per-message overhead. Images count nothing
 * here (their cost depends on the provider's resizing); the upstream's usage corrects it.
 */
export function estimatePromptTokens(req: Pick<ChatRequest, 'messages' | 'tools'>): number {
  let total = PER_REPLY;
  for (const m of req.messages ?? []) {
    const msg = m as { content?: unknown; name?: unknown; tool_calls?: unknown };
    total += PER_MESSAGE + countTokens(contentText(msg.content));
    if (typeof msg.name === 'string') total += countTokens(msg.name);
    if (Array.isArray(msg.tool_calls)) total += countTokens(JSON.stringify(msg.tool_calls));
  }
  if (Array.isArray(req.tools) && req.tools.length > 0) total += countTokens(JSON.stringify(req.tools));
  return total;
}
