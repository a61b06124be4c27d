/**
 * Anthropic's Messages stream (SSE) as CompletionEvents; ../completion-events.ts renders them
 * as OpenAI chunks. Each `data:` carries its event's `type`, which is what is switched on:
 *
 *   message_start → content_block_start / _delta / _stop per block → message_delta → message_stop
 *
 * with `ping` anywhere and unknown types ignored. Tool calls are keyed by their block index and
 * numbered by completion-events in the order they start (LiteLLM#5231 used the block index);
 * their arguments are the input_json_delta fragments only, never the `input: {}` of the block
 * start (Helicone sent `{}{…}`). Thinking blocks are dropped. The finish and the usage are
 * emitted at message_stop: a stream cut before it is incomplete, never a success. An
 * `event: error` throws (the writer sends one in-band error event, no [DONE]).
 */
import type { CompletionEvent } from '../completion-events.js';
import { upstreamErrors } from '../errors.js';
import { type AnthropicUsage, finishReason, usageOf } from './response.js';

export interface AnthropicEvent {
  type?: string;
  index?: number;
  message?: { id?: string; model?: string; usage?: AnthropicUsage };
  content_block?: { type?: string; id?: string; name?: string; input?: unknown };
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string | null };
  usage?: AnthropicUsage;
  error?: { type?: string; message?: string };
}

/** Anthropic's last event: after it the rest of the body is drained (see sseData). */
export const isMessageStop = (data: string) => data.includes('"message_stop"');

/** Each SSE data payload as an event object; anything else is the upstream's protocol error. */
export async function* parsedEvents(data: AsyncIterable<string>, provider: string): AsyncGenerator<AnthropicEvent> {
  for await (const d of data) {
    let e: unknown;
    try {
      e = JSON.parse(d);
    } catch {
      throw upstreamErrors.eventNotJson(provider);
    }
    if (e === null || typeof e !== 'object' || Array.isArray(e)) throw upstreamErrors.eventNotJson(provider);
    yield e as AnthropicEvent;
  }
}

/** An `event: error` as the UpstreamError it stands for. */
export function streamError(e: AnthropicEvent, provider: string): Error {
  return upstreamErrors.anthropic(provider, null, e.error?.type ?? null, e.error?.message);
}

interface ToolBlock {
  /** Non-empty input_json_delta fragments were sent for it. */
  streamed: boolean;
  input: unknown;
}

export async function* streamEvents(
  events: AsyncIterable<AnthropicEvent>,
  provider: string,
): AsyncGenerator<CompletionEvent> {
  let usage: AnthropicUsage = {};
  let stop: string | null | undefined;
  const tools = new Map<number, ToolBlock>();
  for await (const e of events) {
    switch (e.type) {
      case 'message_start':
        usage = { ...e.message?.usage };
        break;
      case 'content_block_start': {
        const b = e.content_block;
        if (b?.type !== 'tool_use' || typeof e.index !== 'number') break;
        tools.set(e.index, { streamed: false, input: b.input });
        yield { type: 'tool_start', key: e.index, id: String(b.id), name: String(b.name) };
        break;
      }
      case 'content_block_delta': {
        const d = e.delta;
        if (d?.type === 'text_delta' && typeof d.text === 'string') yield { type: 'text', text: d.text };
        else if (d?.type === 'input_json_delta' && typeof d.partial_json === 'string' && d.partial_json !== '') {
          const tool = tools.get(e.index ?? -1);
          if (tool) tool.streamed = true;
          yield { type: 'tool_args', key: e.index ?? -1, delta: d.partial_json };
        }
        // thinking_delta, signature_delta, citations: not part of an OpenAI answer.
        break;
      }
      case 'content_block_stop': {
        // A tool whose whole input came with its start (no fragments): send it as the arguments.
        const tool = tools.get(e.index ?? -1);
        if (tool && !tool.streamed && isNonEmptyObject(tool.input))
          yield { type: 'tool_args', key: e.index!, delta: JSON.stringify(tool.input) };
        break;
      }
      case 'message_delta':
        stop = e.delta?.stop_reason ?? stop;
        // Cumulative counts: a field present here replaces message_start's.
        for (const [k, v] of Object.entries(e.usage ?? {})) {
          if (typeof v === 'number') usage[k as keyof AnthropicUsage] = v;
        }
        break;
      case 'message_stop':
        yield { type: 'finish', reason: finishReason(stop) };
        yield { type: 'usage', usage: usageOf(usage) };
        return;
      case 'error':
        throw streamError(e, provider);
      default:
      // ping, and event types added after this was written.
    }
  }
}

function isNonEmptyObject(v: unknown): boolean {
  return v !== null && typeof v === 'object' && Object.keys(v).length > 0;
}
