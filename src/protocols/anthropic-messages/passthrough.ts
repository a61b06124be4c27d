/**
 * Messages in → Anthropic out, with no round trip through Chat Completions: when a routed
 * target's provider speaks the Messages API itself (type `anthropic`, with `sendMessages`),
 * the client's body goes to it as sent — only `model` becomes the target's — so thinking
 * blocks and their signatures, server tools, cache_control and beta fields all survive. The
 * answer comes back as Anthropic wrote it (passthrough-writer.ts relays it).
 *
 * It is a DirectCall of the chat pipeline (pipeline/chat.ts): keys, allowedModels, routing and
 * failover stay the pipeline's, so a failing Anthropic target before the first byte moves on to
 * the next target, which may be another family answered through the Chat translation.
 */
import type { Readable } from 'node:stream';
import type { Answer, DirectCall } from '../../pipeline/chat.js';
import { type FullUsage, fullUsage } from '../../providers/completion-events.js';
import { upstreamErrors } from '../../providers/errors.js';
import { sseData } from '../../providers/sse-data.js';
import type { Provider } from '../../providers/types.js';
import { guard, toUpstreamError } from '../../providers/upstream-http.js';
import type { Route } from '../../routing/router.js';

/** What a provider offers to be passed a Messages body (the Anthropic provider does). */
export interface MessagesUpstream extends Provider {
  readonly maxResponseBytes: number;
  sendMessages(
    body: Record<string, unknown> | string,
    opts: { signal: AbortSignal; requestId: string },
  ): Promise<{ body: Readable }>;
}

export function messagesUpstream(p: Provider): MessagesUpstream | null {
  const m = p as Partial<MessagesUpstream>;
  return p.type === 'anthropic' && typeof m.sendMessages === 'function' ? (p as MessagesUpstream) : null;
}

/** Every target speaks the Messages API: nothing in the request needs a Chat translation. */
export function allTargetsSpeakMessages(route: Route | null): boolean {
  return route !== null && !route.fallbackReply && route.targets.every((t) => messagesUpstream(t.provider) !== null);
}

/** Anthropic's usage counters (input excludes cache reads and writes). */
export interface AnthropicUsageIn {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

/** Anthropic's usage as the record's (OpenAI's) shape: prompt tokens include the cached ones. */
export function chatUsageOf(u: AnthropicUsageIn): FullUsage {
  const read = u.cache_read_input_tokens ?? 0;
  return fullUsage((u.input_tokens ?? 0) + read + (u.cache_creation_input_tokens ?? 0), u.output_tokens ?? 0, read);
}

/** Data payloads that are Anthropic's last event. */
const isMessageStop = (data: string) => data.includes('"message_stop"');

/**
 * The DirectCall for one Messages request. `answered` is called when a target answered
 * through it, so the route knows to relay the answer instead of translating it.
 */
export function passthroughCall(body: Record<string, unknown>, answered: () => void): DirectCall {
  return (target, call) => {
    const up = messagesUpstream(target.provider);
    if (!up) return undefined;
    return send(up, { ...body, model: target.model }, call.stream, call.signal, call.requestId).then((a) => {
      answered();
      return a;
    });
  };
}

async function send(
  up: MessagesUpstream,
  body: Record<string, unknown>,
  stream: boolean,
  signal: AbortSignal,
  requestId: string,
): Promise<Answer> {
  const res = await up.sendMessages(body, { signal, requestId });
  if (!stream) {
    let text = '';
    try {
      for await (const chunk of res.body) text += chunk;
    } catch (err) {
      throw toUpstreamError(err, up.id, up.maxResponseBytes);
    }
    let message: { type?: unknown; usage?: AnthropicUsageIn } | null = null;
    try {
      message = JSON.parse(text);
    } catch {
      throw upstreamErrors.notJson(up.id);
    }
    if (message?.type !== 'message') throw upstreamErrors.notJson(up.id);
    return { kind: 'json', body: text, usage: message.usage ? chatUsageOf(message.usage) : undefined };
  }
  // Read up to the first event that is not a ping: an error event or an empty stream before it
  // is still a failure with a status (and the next target's turn).
  const events = guard(sseData(res.body, isMessageStop), up.id, up.maxResponseBytes)[Symbol.asyncIterator]();
  const held: string[] = [];
  for (;;) {
    const next = await events.next();
    if (next.done) throw upstreamErrors.emptyStream(up.id);
    held.push(next.value);
    const type = typeOf(next.value);
    if (type === 'ping') continue;
    if (type === 'error') {
      void events.return(undefined);
      const e = JSON.parse(next.value) as { error?: { type?: string; message?: string } };
      throw upstreamErrors.anthropic(up.id, null, e.error?.type ?? null, e.error?.message);
    }
    if (type !== 'message_start') {
      void events.return(undefined);
      throw upstreamErrors.streamIncomplete(up.id, 'began its stream with something other than message_start');
    }
    break;
  }
  return {
    kind: 'stream',
    events: (async function* () {
      yield* held;
      yield* { [Symbol.asyncIterator]: () => events };
    })(),
  };
}

/** An Anthropic event payload's `type`, or null when it is not a JSON object with one. */
export function typeOf(data: string): string | null {
  try {
    const v = JSON.parse(data) as { type?: unknown } | null;
    return v !== null && typeof v === 'object' && typeof v.type === 'string' ? v.type : null;
  } catch {
    return null;
  }
}
