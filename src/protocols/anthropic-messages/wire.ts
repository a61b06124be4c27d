/**
 * What the JSON and the stream writer say alike: message and tool-use ids, the stop reason,
 * and usage in Anthropic's words.
 */
import { randomBytes } from 'node:crypto';
import type { FinishReason, FullUsage } from '../../providers/completion-events.js';

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal';

export interface AnthropicUsage {
  /** Prompt tokens not read from a cache (Anthropic counts cached ones apart). */
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Anthropic-looking ids: `msg_01…`, `toolu_01…` followed by 22 base62 characters. */
export function newId(prefix: 'msg' | 'toolu'): string {
  let s = `${prefix}_01`;
  for (const b of randomBytes(22)) s += ALPHABET[b % ALPHABET.length];
  return s;
}

/**
 * The id a tool_use block gets: the upstream's own when it already is one of Anthropic's
 * (an Anthropic upstream), else a fresh toolu_ id. The client sends it back as tool_use_id and
 * in the assistant turn's tool_use block, so the next request's history stays consistent
 * whatever id the upstream used (and call ids like "call_0" never repeat across turns).
 */
export function toolUseId(upstreamId: string): string {
  return /^toolu_[A-Za-z0-9_-]+$/.test(upstreamId) ? upstreamId : newId('toolu');
}

/**
 * Anthropic's stop reason. A tool_use block makes it `tool_use` whatever the upstream said:
 * Ollama and vLLM finish tool calls with "stop", and Claude Code runs tools only on
 * `tool_use` (LiteLLM#34692, Bifrost#3638). Chat Completions does not say which stop sequence
 * ended the text, so a stop is `end_turn`.
 */
export function stopReason(finish: FinishReason | null, sawToolUse: boolean): StopReason {
  if (sawToolUse && (finish === null || finish === 'stop' || finish === 'tool_calls')) return 'tool_use';
  switch (finish) {
    case 'length':
      return 'max_tokens';
    case 'content_filter':
      return 'refusal';
    case 'tool_calls':
      return 'tool_use';
    default:
      return 'end_turn';
  }
}

/** OpenAI usage (prompt includes cached) in Anthropic's terms (input excludes cache reads). */
export function anthropicUsage(u: FullUsage): AnthropicUsage {
  const cached = u.prompt_tokens_details?.cached_tokens ?? 0;
  const out: AnthropicUsage = {
    input_tokens: Math.max(0, (u.prompt_tokens ?? 0) - cached),
    output_tokens: u.completion_tokens ?? 0,
  };
  if (cached > 0) out.cache_read_input_tokens = cached;
  return out;
}

/** A tool call's arguments as tool_use input: an object, or {} when the upstream's text is not one. */
export function toolInput(args: string): Record<string, unknown> {
  if (args.trim() === '') return {};
  try {
    const v: unknown = JSON.parse(args);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
