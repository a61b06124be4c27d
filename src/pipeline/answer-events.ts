/**
 * The pipeline's answer read back as CompletionEvents (providers/completion-events.ts), for
 * the client protocols that are not Chat Completions: the Responses and Messages writers
 * render these events in their own wire format, so each knows nothing of OpenAI's chunks.
 *
 * Only the first choice is read (those protocols have no `n`). A stream that carries an error
 * event, a payload that is not JSON, or that ends without "[DONE]" throws a catalogue error,
 * which the writer ends its own stream with.
 */
import type { CompletionEvent, FinishReason, FullUsage } from '../providers/completion-events.js';
import { upstreamErrors } from '../providers/errors.js';

interface ToolCallDelta {
  index?: number;
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
  [extra: string]: unknown;
}

interface ChoiceLike {
  index?: number;
  delta?: { content?: string | null; tool_calls?: ToolCallDelta[] };
  message?: { content?: string | null; tool_calls?: ToolCallDelta[] };
  finish_reason?: string | null;
}

interface ChunkLike {
  choices?: ChoiceLike[];
  usage?: FullUsage | null;
  error?: { message?: unknown; type?: unknown; code?: unknown };
}

const FINISH: Record<string, FinishReason> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool_calls',
  function_call: 'tool_calls',
  content_filter: 'content_filter',
};

/** A tool call's fields beyond OpenAI's own (Gemini's extra_content), carried on tool_start. */
function extraOf(call: ToolCallDelta): Record<string, unknown> | undefined {
  let extra: Record<string, unknown> | undefined;
  for (const k in call) {
    if (k === 'index' || k === 'id' || k === 'type' || k === 'function') continue;
    extra ??= {};
    extra[k] = call[k];
  }
  return extra;
}

function parse(data: string, provider: string | null): ChunkLike {
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    throw upstreamErrors.eventNotJson(provider);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw upstreamErrors.eventNotJson(provider);
  return v as ChunkLike;
}

/** A whole chat.completion's JSON text as the events of its first choice. */
export function completionEvents(body: string, provider: string | null): CompletionEvent[] {
  const c = parse(body, provider);
  const choice = c.choices?.find((ch) => (ch.index ?? 0) === 0);
  const out: CompletionEvent[] = [];
  const message = choice?.message;
  if (typeof message?.content === 'string' && message.content !== '') out.push({ type: 'text', text: message.content });
  for (const [i, call] of (message?.tool_calls ?? []).entries()) {
    out.push({
      type: 'tool_start',
      key: i,
      id: call.id ?? `call_${i}`,
      name: call.function?.name ?? '',
      extra: extraOf(call),
    });
    if (call.function?.arguments) out.push({ type: 'tool_args', key: i, delta: call.function.arguments });
  }
  out.push({ type: 'finish', reason: FINISH[choice?.finish_reason ?? 'stop'] ?? 'stop' });
  if (c.usage) out.push({ type: 'usage', usage: c.usage });
  return out;
}

/** A stream's chunk payloads (ending in "[DONE]") as events; throws on an error event or an early end. */
export async function* streamEvents(
  events: AsyncIterable<string>,
  provider: string | null,
): AsyncGenerator<CompletionEvent> {
  const started = new Set<number>();
  for await (const data of events) {
    if (data === '[DONE]') return;
    if (data.trim() === '') continue;
    const chunk = parse(data, provider);
    if (chunk.error) {
      const e = chunk.error;
      throw upstreamErrors.envelope(
        502,
        typeof e.message === 'string' ? e.message : 'The upstream sent an error event.',
        typeof e.type === 'string' ? e.type : 'upstream_error',
        typeof e.code === 'string' ? e.code : null,
        data,
      );
    }
    for (const choice of chunk.choices ?? []) {
      if ((choice.index ?? 0) !== 0) continue;
      const delta = choice.delta;
      if (typeof delta?.content === 'string' && delta.content !== '') yield { type: 'text', text: delta.content };
      for (const call of delta?.tool_calls ?? []) {
        const key = call.index ?? 0;
        if (!started.has(key)) {
          started.add(key);
          yield {
            type: 'tool_start',
            key,
            id: call.id ?? `call_${key}`,
            name: call.function?.name ?? '',
            extra: extraOf(call),
          };
        }
        const args = call.function?.arguments;
        if (args) yield { type: 'tool_args', key, delta: args };
      }
      if (choice.finish_reason) yield { type: 'finish', reason: FINISH[choice.finish_reason] ?? 'stop' };
    }
    if (chunk.usage) yield { type: 'usage', usage: chunk.usage };
  }
  throw upstreamErrors.streamIncomplete(provider, 'closed the stream before it finished');
}
