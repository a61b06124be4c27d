/**
 * The streamed answer: the pipeline's chunks read back as CompletionEvents (answer-events.ts)
 * and written as Responses events (response.ts). Headers go out with the first event the
 * upstream produced, so a failure before it is still an HTTP error with its status; a failure
 * after it ends the stream with an `error` event and response.failed. The response is stored
 * (when the request said `store`) before its terminal event is written, so a client that sends
 * the next turn at once finds it.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';
import { startSse } from '../../http/chat/sse.js';
import { streamFailure } from '../../http/stream-failure.js';
import { streamEvents } from '../../pipeline/answer-events.js';
import { type AttemptLog, logAttemptFailure } from '../../pipeline/attempt-log.js';
import { type ChatContext, noteFirstByte, noteUsage } from '../../pipeline/context.js';
import { upstreamErrors } from '../../providers/errors.js';
import { ResponseAssembly, type ResponseMeta, type ResponseObject } from './response.js';
import { EventWriter } from './sse.js';

export interface StreamOptions {
  signal: AbortSignal;
  log: AttemptLog;
  keep: (r: ResponseObject) => Promise<void>;
}

export async function writeStream(
  reply: FastifyReply,
  chunks: AsyncIterable<string>,
  ctx: ChatContext,
  meta: ResponseMeta,
  opts: StreamOptions,
): Promise<void> {
  const res = reply.raw;
  const out = new EventWriter(res);
  const assembly = new ResponseAssembly(meta);
  let started = false;
  const start = () => {
    reply.hijack();
    startSse(res, reply.getHeaders() as OutgoingHttpHeaders);
    started = true;
    noteFirstByte(ctx);
    return assembly.start();
  };
  try {
    for await (const e of streamEvents(chunks, ctx.provider)) {
      if (e.type === 'usage') noteUsage(ctx, e.usage);
      const events = started ? assembly.apply(e) : [...start(), ...assembly.apply(e)];
      const slowClient = out.write(events, opts.signal);
      if (slowClient) await slowClient;
    }
  } catch (err) {
    const e = streamFailure(err, reply, ctx, opts.signal, opts.log, started);
    if (!e) return;
    const { events, response } = assembly.fail(e);
    await opts.keep(response);
    out.end(events);
    return;
  }
  if (!started) {
    // The upstream's stream ended with no event at all: its failure, not an empty answer.
    const err = upstreamErrors.emptyStream(ctx.provider);
    logAttemptFailure(opts.log, err, ctx.provider, ctx.upstreamModel);
    throw err;
  }
  const { events, response } = assembly.finish();
  await opts.keep(response);
  out.end(events);
}
