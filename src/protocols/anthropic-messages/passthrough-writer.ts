/**
 * Relays an Anthropic upstream's own Messages answer (passthrough.ts) to the client: JSON as
 * received; a stream event by event, each payload written as received under its `type` as the
 * event name. Usage is read from message_start and message_delta for the one record. The same
 * rules as the translated stream (stream-writer.ts): headers with the first event, the client
 * leaving aborts the upstream, and a failure after the start is one `event: error` — the
 * upstream's own error event as it sent it, or Parley's when the stream broke or ended before
 * message_stop.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';
import { startSse } from '../../http/chat/sse.js';
import { streamFailure } from '../../http/stream-failure.js';
import type { AttemptLog } from '../../pipeline/attempt-log.js';
import type { Answer } from '../../pipeline/chat.js';
import { type ChatContext, noteCompleted, noteFailure, noteFirstByte, noteUsage } from '../../pipeline/context.js';
import { upstreamErrors } from '../../providers/errors.js';
import { anthropicErrorBody } from './envelope.js';
import { type AnthropicUsageIn, chatUsageOf } from './passthrough.js';
import { EventWriter } from './sse-events.js';

export async function relayMessages(
  reply: FastifyReply,
  answer: Answer,
  ctx: ChatContext,
  opts: { signal: AbortSignal; log: AttemptLog },
): Promise<void> {
  if (answer.kind === 'json') {
    noteCompleted(ctx, answer.usage);
    await reply.header('content-type', 'application/json').send(answer.body);
    return;
  }
  const res = reply.raw;
  const out = new EventWriter(res);
  const { signal } = opts;
  let started = false;
  let stopped = false;
  const usage: AnthropicUsageIn = {};
  try {
    for await (const data of answer.events) {
      if (data.trim() === '') continue;
      let event: { type?: unknown; message?: { usage?: AnthropicUsageIn }; usage?: AnthropicUsageIn; error?: unknown };
      try {
        event = JSON.parse(data);
      } catch {
        throw upstreamErrors.eventNotJson(ctx.provider);
      }
      const type = typeof event?.type === 'string' ? event.type : null;
      if (type === null || !/^[a-z_]{1,64}$/.test(type)) throw upstreamErrors.eventNotJson(ctx.provider);
      if (!started) {
        reply.hijack();
        startSse(res, reply.getHeaders() as OutgoingHttpHeaders);
        started = true;
        noteFirstByte(ctx);
      }
      const reported = type === 'message_start' ? event.message?.usage : type === 'message_delta' ? event.usage : null;
      if (reported) {
        // message_delta's counters are cumulative totals, present only when they apply.
        for (const [k, v] of Object.entries(reported))
          if (typeof v === 'number') usage[k as keyof AnthropicUsageIn] = v;
        noteUsage(ctx, chatUsageOf(usage));
      }
      const slow = out.raw(type, data, signal);
      if (type === 'error') {
        // The upstream ended its own stream with an error: passed on as sent, and recorded.
        const errorType = (event.error as { type?: unknown } | undefined)?.type;
        noteFailure(
          ctx,
          { status: 200, type: typeof errorType === 'string' ? (errorType as never) : 'upstream_error' },
          false,
        );
        out.end();
        return;
      }
      if (slow) await slow;
      if (type === 'message_stop') {
        stopped = true;
        break;
      }
    }
    if (!stopped) throw upstreamErrors.streamIncomplete(ctx.provider, 'closed the stream before it finished');
    out.end();
  } catch (err) {
    const e = streamFailure(err, reply, ctx, signal, opts.log, started);
    if (!e) return;
    out.event('error', anthropicErrorBody(e, ctx.requestId), signal);
    out.end();
  }
}
