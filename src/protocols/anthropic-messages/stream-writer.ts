/**
 * A streamed Messages response, as Claude Code and the Anthropic SDKs read it:
 *
 *   message_start (usage.input_tokens real: estimated from the translated request, since Chat
 *   upstreams report usage only at the end, and Claude Code fails on 0) → ping →
 *   per block: content_block_start → content_block_delta (text_delta | input_json_delta)… →
 *   content_block_stop → message_delta (stop_reason, cumulative usage) → message_stop.
 *
 * - A block opens only with its first non-empty text (no empty leading text block) or when a
 *   tool call starts; blocks never interleave, so a new block closes the open one.
 * - stop_reason is `tool_use` whenever a tool_use block was streamed (wire.ts).
 * - A `ping` follows message_start, as Anthropic sends one, and another whenever 10 s pass
 *   without an event, so proxies and clients with idle timeouts keep the connection.
 * - Headers leave with the first event, as on the chat route: a failure before it is an HTTP
 *   error in Anthropic's envelope; after it, one `event: error` and the stream ends.
 * - The client leaving aborts the upstream (the request scope's signal); backpressure is
 *   respected; usage reaches the context for the one record.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';
import { startSse } from '../../http/chat/sse.js';
import { streamFailure } from '../../http/stream-failure.js';
import type { AttemptLog } from '../../pipeline/attempt-log.js';
import { type ChatContext, noteFirstByte, noteUsage } from '../../pipeline/context.js';
import type { CompletionEvent, FinishReason, FullUsage } from '../../providers/completion-events.js';
import { upstreamErrors } from '../../providers/errors.js';
import { countTokens } from '../../usage/tokens.js';
import { anthropicErrorBody } from './envelope.js';
import type { MessageMeta } from './json-writer.js';
import { EventWriter } from './sse-events.js';
import { type AnthropicUsage, anthropicUsage, stopReason, toolUseId } from './wire.js';

/** How long the stream may stay silent before a ping. */
export const PING_INTERVAL_MS = 10_000;

export interface StreamOptions {
  signal: AbortSignal;
  log: AttemptLog;
  meta: MessageMeta;
  /** Overrides PING_INTERVAL_MS (tests). */
  pingMs?: number;
}

type OpenBlock = { kind: 'text'; index: number } | { kind: 'tool'; index: number; key: string | number };

/**
 * Writes the stream. Throws only when it fails before anything was sent (the caller answers
 * with the HTTP error); later failures end the stream with an error event, noted on `ctx`.
 */
export async function writeMessageStream(
  reply: FastifyReply,
  events: AsyncIterable<CompletionEvent>,
  ctx: ChatContext,
  opts: StreamOptions,
): Promise<void> {
  const res = reply.raw;
  const out = new EventWriter(res);
  const { signal, meta } = opts;
  let started = false;
  let open: OpenBlock | null = null;
  let blocks = 0;
  let sawToolUse = false;
  let finish: FinishReason | null = null;
  let usage: FullUsage | null = null;
  let outputEstimate = 0;
  let ping: NodeJS.Timeout | undefined;

  const send = (name: string, data: unknown) => {
    ping?.refresh();
    return out.event(name, data, signal);
  };
  const start = () => {
    reply.hijack();
    startSse(res, reply.getHeaders() as OutgoingHttpHeaders);
    started = true;
    noteFirstByte(ctx);
    out.event(
      'message_start',
      {
        type: 'message_start',
        message: {
          id: meta.id,
          type: 'message',
          role: 'assistant',
          model: meta.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: meta.estimatedInputTokens, output_tokens: 1 },
        },
      },
      signal,
    );
    out.event('ping', { type: 'ping' }, signal);
    ping = setInterval(() => out.event('ping', { type: 'ping' }, signal), opts.pingMs ?? PING_INTERVAL_MS);
    ping.unref();
  };
  const close = () => {
    if (!open) return undefined;
    const index = open.index;
    open = null;
    return send('content_block_stop', { type: 'content_block_stop', index });
  };

  try {
    for await (const e of events) {
      if (!started) start();
      if (finish !== null && e.type !== 'usage') continue; // nothing but usage after the finish
      let slow: Promise<unknown> | undefined;
      switch (e.type) {
        case 'text':
          if (e.text === '') break;
          if (open?.kind !== 'text') {
            close();
            open = { kind: 'text', index: blocks++ };
            send('content_block_start', {
              type: 'content_block_start',
              index: open.index,
              content_block: { type: 'text', text: '' },
            });
          }
          outputEstimate += countTokens(e.text);
          slow = send('content_block_delta', {
            type: 'content_block_delta',
            index: open.index,
            delta: { type: 'text_delta', text: e.text },
          });
          break;
        case 'tool_start':
          close();
          sawToolUse = true;
          open = { kind: 'tool', index: blocks++, key: e.key };
          slow = send('content_block_start', {
            type: 'content_block_start',
            index: open.index,
            content_block: { type: 'tool_use', id: toolUseId(e.id), name: e.name, input: {} },
          });
          break;
        case 'tool_args':
          if (e.delta === '') break;
          // Anthropic's blocks never interleave: arguments for a call that is no longer the
          // open block cannot be written anywhere faithful.
          if (open?.kind !== 'tool' || open.key !== e.key)
            throw upstreamErrors.streamIncomplete(ctx.provider, 'sent arguments for a tool call after another began');
          outputEstimate += countTokens(e.delta);
          slow = send('content_block_delta', {
            type: 'content_block_delta',
            index: open.index,
            delta: { type: 'input_json_delta', partial_json: e.delta },
          });
          break;
        case 'finish':
          finish = e.reason;
          slow = close();
          break;
        case 'usage':
          usage = e.usage;
          noteUsage(ctx, e.usage);
          break;
      }
      if (slow) await slow;
    }
    if (!started) start();
    close();
    const final: AnthropicUsage = usage
      ? anthropicUsage(usage)
      : { input_tokens: meta.estimatedInputTokens, output_tokens: outputEstimate };
    send('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReason(finish, sawToolUse), stop_sequence: null },
      usage: final,
    });
    send('message_stop', { type: 'message_stop' });
    clearInterval(ping);
    out.end();
  } catch (err) {
    clearInterval(ping);
    const e = streamFailure(err, reply, ctx, signal, opts.log, started);
    if (!e) return;
    out.event('error', anthropicErrorBody(e, ctx.requestId), signal);
    out.end();
  }
}
