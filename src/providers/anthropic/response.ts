/**
 * An Anthropic Message (the non-streamed answer) as CompletionEvents, and the pieces the stream
 * translation shares with it: the stop reason and usage mappings.
 */
import { type CompletionEvent, type FinishReason, type FullUsage, fullUsage } from '../completion-events.js';

/** Anthropic's `usage`, as far as Parley reads it. */
export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

interface ContentBlock {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
}

export interface AnthropicMessage {
  id?: string;
  type?: string;
  model?: string;
  content?: ContentBlock[];
  stop_reason?: string | null;
  usage?: AnthropicUsage;
}

/**
 * Anthropic's stop_reason as OpenAI's finish_reason. `pause_turn` (a server tool paused a long
 * turn) ends this answer as it stands; `model_context_window_exceeded` ran out of room like
 * max_tokens; anything unknown is a plain stop.
 */
export function finishReason(stop: string | null | undefined): FinishReason {
  switch (stop) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/**
 * OpenAI's usage from Anthropic's: Anthropic's input_tokens leave out the cached prompt (read
 * and written), which OpenAI's prompt_tokens include; cached_tokens are the cache reads.
 */
export function usageOf(u: AnthropicUsage): FullUsage {
  const read = u.cache_read_input_tokens ?? 0;
  const prompt = (u.input_tokens ?? 0) + read + (u.cache_creation_input_tokens ?? 0);
  return fullUsage(prompt, u.output_tokens ?? 0, read);
}

/** The completion id OpenAI clients see for an Anthropic message id (msg_01… → chatcmpl-01…). */
export function completionId(messageId: unknown, fallback: string): string {
  return typeof messageId === 'string' && messageId !== ''
    ? `chatcmpl-${messageId.replace(/^msg_/, '')}`
    : `chatcmpl-${fallback}`;
}

/** The events of a whole Message: text, tool calls (ids kept), finish, usage. Thinking is left out. */
export function messageEvents(m: AnthropicMessage): CompletionEvent[] {
  const events: CompletionEvent[] = [];
  (m.content ?? []).forEach((b, i) => {
    if (b.type === 'text' && typeof b.text === 'string') events.push({ type: 'text', text: b.text });
    else if (b.type === 'tool_use') {
      events.push({ type: 'tool_start', key: i, id: String(b.id), name: String(b.name) });
      events.push({ type: 'tool_args', key: i, delta: JSON.stringify(b.input ?? {}) });
    }
    // thinking, redacted_thinking, server tool blocks: nothing an OpenAI message can carry.
  });
  events.push({ type: 'finish', reason: finishReason(m.stop_reason) });
  if (m.usage) events.push({ type: 'usage', usage: usageOf(m.usage) });
  return events;
}
