/**
 * Gemini's answers as CompletionEvents. A streamed answer is a sequence of whole
 * GenerateContentResponse objects and a JSON answer is one of them, so both go through the
 * same reader; renderCompletion / renderChunks (../completion-events.ts) do the rest.
 */
import { randomUUID } from 'node:crypto';
import { type CompletionEvent, type FinishReason, fullUsage } from '../completion-events.js';
import { googleError } from './errors.js';
import { signatureExtra } from './thought-signature.js';
import type { GeminiResponse, GeminiUsage } from './wire.js';

/**
 * Gemini's finishReason → OpenAI's. STOP after a function call is `tool_calls`: the
 * rendering decides that (Gemini always says STOP, LiteLLM#21041). The rest stop.
 */
const FINISH: Record<string, FinishReason> = {
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  BLOCKLIST: 'content_filter',
  PROHIBITED_CONTENT: 'content_filter',
  SPII: 'content_filter',
  IMAGE_SAFETY: 'content_filter',
  LANGUAGE: 'content_filter',
};

/** OpenAI's tool-call id shape; Gemini's functionCall usually has no id. */
export function newCallId(): string {
  return `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
}

/** Reads one answer's responses in order (one for JSON, one per SSE event for a stream). */
export class GeminiReader {
  private calls = 0;

  constructor(private readonly provider: string) {}

  events(r: GeminiResponse): CompletionEvent[] {
    // An error body in place of a response (in the middle of a stream): thrown, so the
    // client gets one in-band error event and no [DONE].
    if (r.error && typeof r.error === 'object') throw googleError(r.error, this.provider);
    const out: CompletionEvent[] = [];
    const candidate = r.candidates?.[0];
    for (const part of candidate?.content?.parts ?? []) {
      if (part.thought === true) continue; // thought summaries are never content
      if (part.functionCall) {
        const key = this.calls++;
        out.push({
          type: 'tool_start',
          key,
          id: part.functionCall.id || newCallId(),
          name: part.functionCall.name,
          extra: signatureExtra(part.thoughtSignature),
        });
        // Gemini sends a call whole: its arguments are one delta.
        out.push({ type: 'tool_args', key, delta: JSON.stringify(part.functionCall.args ?? {}) });
      } else if (typeof part.text === 'string' && part.text !== '') {
        out.push({ type: 'text', text: part.text });
      }
    }
    // Usage is cumulative on every event: each one replaces the last.
    if (r.usageMetadata) out.push({ type: 'usage', usage: usageOf(r.usageMetadata) });
    if (candidate?.finishReason && candidate.finishReason !== 'FINISH_REASON_UNSPECIFIED') {
      out.push({ type: 'finish', reason: FINISH[candidate.finishReason] ?? 'stop' });
    } else if (!candidate && r.promptFeedback?.blockReason) {
      // The prompt itself was blocked: no candidate at all. The client gets an empty answer
      // that says why it is empty, as OpenAI's own filter does.
      out.push({ type: 'finish', reason: 'content_filter' });
    }
    return out;
  }
}

/**
 * Gemini's usage in OpenAI's shape: promptTokenCount already includes the cached tokens (and
 * the tool-use prompt is prompt too); thinking tokens are completion tokens, as OpenAI counts
 * reasoning.
 */
export function usageOf(u: GeminiUsage) {
  const n = (v: number | undefined) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
  return fullUsage(
    n(u.promptTokenCount) + n(u.toolUsePromptTokenCount),
    n(u.candidatesTokenCount) + n(u.thoughtsTokenCount),
    n(u.cachedContentTokenCount),
    n(u.thoughtsTokenCount),
  );
}
