/**
 * Token counts for a stream the upstream never reported usage for: cut short by a caller's
 * barge-in, an upstream failure, a deadline or shutdown (OpenAI-style upstreams send usage
 * only in the last chunk), or an upstream that does not report it at all. Other gateways
 * record those as zero, so budgets never trip; Parley counts them with a real tokenizer
 * (./tokens.ts): the prompt from the request, the completion from what was relayed.
 *
 * Only the abnormal path pays for this: the writer keeps references to the payloads it
 * relayed (strings it has anyway) and they are parsed only when no usage came — or, on a
 * long stream, every FOLD_AT payloads, to keep their text instead of their JSON.
 */
import type { ChatRequest, Usage } from '../protocol/chat.js';
import { countTokens, estimatePromptTokens } from './tokens.js';

interface DeltaLike {
  content?: unknown;
  refusal?: unknown;
  reasoning_content?: unknown;
  reasoning?: unknown;
  tool_calls?: { function?: { name?: unknown; arguments?: unknown } }[];
}

/**
 * The generated text in relayed chunk payloads: content, refusals, reasoning text, tool
 * calls' names and arguments (all billed as completion tokens), every choice's.
 */
export function relayedText(payloads: readonly string[]): string {
  let text = '';
  const add = (v: unknown) => {
    if (typeof v === 'string') text += v;
  };
  for (const p of payloads) {
    let chunk: { choices?: { delta?: DeltaLike | null }[] };
    try {
      chunk = JSON.parse(p);
    } catch {
      continue;
    }
    if (!Array.isArray(chunk?.choices)) continue;
    for (const c of chunk.choices) {
      const d = c?.delta;
      if (!d || typeof d !== 'object') continue;
      add(d.content);
      add(d.refusal);
      add(d.reasoning_content);
      add(d.reasoning);
      if (Array.isArray(d.tool_calls)) {
        for (const t of d.tool_calls) {
          add(t?.function?.name);
          add(t?.function?.arguments);
        }
      }
    }
  }
  return text;
}

/** Payloads kept before they are reduced to their text: a long stream holds its text, not all its JSON. */
const FOLD_AT = 512;

/**
 * What a stream relayed, kept for a count that is usually never needed (the upstream's usage
 * arrives at the end). `push` is all the hot path does: it keeps the payload string; every
 * FOLD_AT payloads they are reduced to the text they carry, so memory stays bounded.
 */
export class RelayedStream {
  private payloads: string[] = [];
  private text = '';

  push(payload: string): void {
    this.payloads.push(payload);
    if (this.payloads.length >= FOLD_AT) {
      this.text += relayedText(this.payloads);
      this.payloads = [];
    }
  }

  get empty(): boolean {
    return this.payloads.length === 0 && this.text === '';
  }

  /**
   * The usage to record for a stream without the upstream's: its own prompt count when it
   * gave one, else the request's estimated; the completion counted from what was relayed.
   */
  usage(request: Pick<ChatRequest, 'messages' | 'tools'> | undefined, known: Partial<Usage> | null): Usage {
    const prompt =
      typeof known?.prompt_tokens === 'number' ? known.prompt_tokens : request ? estimatePromptTokens(request) : 0;
    const completion = countTokens(this.text + relayedText(this.payloads));
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  }
}
