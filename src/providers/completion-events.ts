/**
 * The OpenAI side of every translating provider (Anthropic, Gemini, …). A provider reads its
 * own wire format into a sequence of small CompletionEvents; this file renders that sequence
 * as exactly what OpenAI sends — one chat.completion object, or chat.completion.chunk payloads
 * ending in "[DONE]" — so JSON and stream answers agree by construction, and the rules strict
 * clients depend on live in one place:
 *
 * - the assistant role once, in the first chunk;
 * - tool calls indexed 0..n−1 in the order they start (never the provider's block index);
 *   a call's first delta carries id, type, name and `arguments: ""`, later ones only index and
 *   arguments; a call that got no arguments ends as "{}";
 * - exactly one finish chunk, and `tool_calls` as its reason whenever a call was made;
 * - usage (with cached and reasoning tokens) only in a final `choices: []` chunk — the chat
 *   writer drops it when the client did not ask for stream_options.include_usage;
 * - a source that ends without a finish is an incomplete stream (an UpstreamError), so the
 *   writer sends one in-band error event and no "[DONE]".
 */
import type { Usage } from '../protocol/chat.js';
import { upstreamErrors } from './errors.js';

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/** Token counts as OpenAI reports them: prompt includes cached, completion includes reasoning. */
export interface FullUsage extends Usage {
  prompt_tokens_details?: { cached_tokens: number };
  completion_tokens_details?: { reasoning_tokens: number };
}

export type CompletionEvent =
  | { type: 'text'; text: string }
  /** A tool call begins. `key` is the provider's own handle for it (a block index, a counter). */
  | {
      type: 'tool_start';
      key: string | number;
      id: string;
      name: string;
      /** Extra fields on the tool call (Gemini's `extra_content.google.thought_signature`). */
      extra?: Record<string, unknown>;
    }
  | { type: 'tool_args'; key: string | number; delta: string }
  | { type: 'finish'; reason: FinishReason }
  /** The usage so far; a later one replaces an earlier one (Gemini's is cumulative). */
  | { type: 'usage'; usage: FullUsage };

export interface CompletionMeta {
  /** The completion id (chatcmpl-…), the same on every chunk. */
  id: string;
  /** The model name the client sees. */
  model: string;
  /** Unix seconds. */
  created: number;
}

interface ToolCallState {
  index: number;
  id: string;
  name: string;
  args: string;
  extra?: Record<string, unknown>;
}

/** Follows the events of one answer; shared by the JSON and the stream rendering. */
class Assembly {
  text = '';
  readonly calls: ToolCallState[] = [];
  private readonly byKey = new Map<string | number, ToolCallState>();
  finish: FinishReason | null = null;
  usage: FullUsage | null = null;

  start(key: string | number, id: string, name: string, extra?: Record<string, unknown>): ToolCallState {
    const call: ToolCallState = { index: this.calls.length, id, name, args: '', extra };
    this.calls.push(call);
    this.byKey.set(key, call);
    return call;
  }

  call(key: string | number, provider: string): ToolCallState {
    const c = this.byKey.get(key);
    if (!c) throw upstreamErrors.streamIncomplete(provider, 'sent arguments for a tool call it never started');
    return c;
  }

  /** The finish reason clients must see: a made tool call wins over the provider's "stop". */
  finalReason(): FinishReason {
    const r = this.finish ?? 'stop';
    return this.calls.length > 0 && (r === 'stop' || r === 'tool_calls') ? 'tool_calls' : r;
  }
}

/** One whole chat.completion from a finished answer's events. */
export function renderCompletion(
  events: Iterable<CompletionEvent>,
  meta: CompletionMeta,
  provider: string,
): { body: string; usage?: Usage } {
  const a = new Assembly();
  for (const e of events) apply(a, e, provider);
  const message: Record<string, unknown> = {
    role: 'assistant',
    content: a.text === '' && a.calls.length > 0 ? null : a.text,
    refusal: null,
  };
  if (a.calls.length > 0) {
    message.tool_calls = a.calls.map((c) => ({
      id: c.id,
      type: 'function',
      function: { name: c.name, arguments: c.args === '' ? '{}' : c.args },
      ...c.extra,
    }));
  }
  const body = {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: a.finalReason() }],
    ...(a.usage ? { usage: a.usage } : {}),
  };
  return { body: JSON.stringify(body), usage: a.usage ?? undefined };
}

function apply(a: Assembly, e: CompletionEvent, provider: string): void {
  switch (e.type) {
    case 'text':
      a.text += e.text;
      break;
    case 'tool_start':
      a.start(e.key, e.id, e.name, e.extra);
      break;
    case 'tool_args':
      a.call(e.key, provider).args += e.delta;
      break;
    case 'finish':
      a.finish = e.reason;
      break;
    case 'usage':
      a.usage = e.usage;
      break;
  }
}

/**
 * The chunk payloads of a streamed answer, then "[DONE]". Errors thrown by `events` pass
 * through (the writer ends the stream with them); a source that ends without a finish event
 * throws an incomplete-stream UpstreamError.
 */
export async function* renderChunks(
  events: AsyncIterable<CompletionEvent>,
  meta: CompletionMeta,
  provider: string,
): AsyncGenerator<string> {
  const a = new Assembly();
  // Everything but `choices` and `usage`, serialised once: `{"id":…,"model":…`
  const head = JSON.stringify({
    id: meta.id,
    object: 'chat.completion.chunk',
    created: meta.created,
    model: meta.model,
  }).slice(0, -1);
  const chunk = (delta: Record<string, unknown>, finish: FinishReason | null = null) =>
    `${head},"choices":[${JSON.stringify({ index: 0, delta, logprobs: null, finish_reason: finish })}]}`;
  let roleSent = false;
  const withRole = (delta: Record<string, unknown>) => {
    if (roleSent) return delta;
    roleSent = true;
    return { role: 'assistant', ...delta };
  };

  for await (const e of events) {
    if (a.finish !== null && e.type !== 'usage') continue; // nothing but usage after the finish
    switch (e.type) {
      case 'text':
        if (e.text === '') break;
        a.text += e.text;
        yield chunk(withRole({ content: e.text }));
        break;
      case 'tool_start': {
        const c = a.start(e.key, e.id, e.name, e.extra);
        yield chunk(
          withRole({
            tool_calls: [
              { index: c.index, id: c.id, type: 'function', function: { name: c.name, arguments: '' }, ...c.extra },
            ],
          }),
        );
        break;
      }
      case 'tool_args': {
        if (e.delta === '') break;
        const c = a.call(e.key, provider);
        c.args += e.delta;
        yield chunk(withRole({ tool_calls: [{ index: c.index, function: { arguments: e.delta } }] }));
        break;
      }
      case 'finish': {
        // A call that never got arguments still parses: "{}" before the finish.
        for (const c of a.calls) {
          if (c.args !== '') continue;
          c.args = '{}';
          yield chunk(withRole({ tool_calls: [{ index: c.index, function: { arguments: '{}' } }] }));
        }
        a.finish = e.reason;
        yield chunk(roleSent ? {} : withRole({ content: '' }), a.finalReason());
        break;
      }
      case 'usage':
        a.usage = e.usage;
        break;
    }
  }
  if (a.finish === null) throw upstreamErrors.streamIncomplete(provider, 'closed the stream before it finished');
  if (a.usage) yield `${head},"choices":[],"usage":${JSON.stringify(a.usage)}}`;
  yield '[DONE]';
}

/** Usage in OpenAI's shape from the parts every provider reports, details only when nonzero. */
export function fullUsage(input: number, output: number, cached = 0, reasoning = 0): FullUsage {
  const u: FullUsage = { prompt_tokens: input, completion_tokens: output, total_tokens: input + output };
  if (cached > 0) u.prompt_tokens_details = { cached_tokens: cached };
  if (reasoning > 0) u.completion_tokens_details = { reasoning_tokens: reasoning };
  return u;
}
