/**
 * The Chat Completions writer: turns the pipeline's answer into bytes on the HTTP response.
 * A JSON completion is sent as the upstream's text; a stream is relayed with the least work:
 * each upstream `data` payload is written as received. Only chunks that mention a usage
 * object are parsed, to count tokens, and the usage-only chunk Parley asked for is dropped
 * when the client did not ask for it. Headers go out with the first chunk, so a failure
 * before it can still answer with a proper HTTP status. A stream that ends without the
 * upstream's usage (a barge-in, a cut) is recorded with Parley's own count of what was
 * relayed, marked estimated.
 *
 * An upstream that misbehaves ends this one request, never the process: a payload that is
 * not a JSON object (one character is checked, not the whole chunk) is a 502 before the
 * first byte and one error event after it; a stream that ends without any event is a 502;
 * a usage chunk that does not parse is left out and the stream goes on.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';
import { type AttemptLog, logAttemptFailure } from '../../pipeline/attempt-log.js';
import type { Answer } from '../../pipeline/chat.js';
import { type ChatContext, noteCompleted, noteFailure, noteFirstByte, noteUsage } from '../../pipeline/context.js';
import { noteRelayedUsage } from '../../pipeline/relayed-usage.js';
import type { ChatRequest, Usage } from '../../protocol/chat.js';
import { type ErrorBody, errorBody } from '../../protocol/errors.js';
import { type UpstreamError, upstreamErrors } from '../../providers/errors.js';
import { RelayedStream } from '../../usage/estimate.js';
import { streamFailure } from '../stream-failure.js';
import { SseWriter, startSse } from './sse.js';

const HAS_USAGE = /"usage"\s*:\s*\{/;
const OPEN_BRACE = 0x7b;

export interface WriteOptions {
  /** The client asked for the usage chunk (stream_options.include_usage). */
  includeUsage: boolean;
  /** Aborted when the client leaves or shutdown ends the request. */
  signal: AbortSignal;
  log: AttemptLog;
  /** The request, for its prompt tokens when a stream ends without the upstream's usage. */
  request?: Pick<ChatRequest, 'messages' | 'tools'>;
}

/**
 * Writes the answer. Throws only when it fails before anything was sent (the caller answers
 * with the HTTP error). Later failures end the stream with an error event, noted on `ctx`.
 */
export async function writeAnswer(
  reply: FastifyReply,
  answer: Answer,
  ctx: ChatContext,
  opts: WriteOptions,
): Promise<void> {
  if (answer.kind === 'json') {
    noteCompleted(ctx, answer.usage);
    await reply.header('content-type', 'application/json').send(answer.body);
    return;
  }
  // The payloads relayed, kept (references only) in case the stream ends without the
  // upstream's usage: then, and only then, they are counted (usage/estimate.ts).
  const relayed = new RelayedStream();
  try {
    await relayStream(reply, answer.events, ctx, opts, relayed);
  } finally {
    noteRelayedUsage(ctx, relayed, opts.request, opts.signal.aborted);
  }
}

async function relayStream(
  reply: FastifyReply,
  events: AsyncIterable<string>,
  ctx: ChatContext,
  opts: WriteOptions,
  relayed: RelayedStream,
): Promise<void> {
  const res = reply.raw;
  let started = false;
  let done = false;
  const out = new SseWriter(res);
  const start = () => {
    // From here the response is written on the raw socket; the reply's headers (x-request-id,
    // CORS) go with the stream's.
    reply.hijack();
    startSse(res, reply.getHeaders() as OutgoingHttpHeaders);
    started = true;
    noteFirstByte(ctx);
  };
  try {
    for await (const data of events) {
      if (data === '[DONE]') {
        done = true;
        break;
      }
      if (data.charCodeAt(0) !== OPEN_BRACE) {
        // Rare: some servers pad the payload, or send an empty keep-alive `data:`.
        const trimmed = data.trimStart();
        if (trimmed === '') continue;
        if (trimmed.charCodeAt(0) !== OPEN_BRACE) throw notJson(ctx);
      }
      let write = true;
      if (HAS_USAGE.test(data)) {
        const chunk = parseObject(data) as { usage?: Usage | null; choices?: unknown[] } | null;
        // A usage chunk that does not parse counts nothing, and a client could not parse it either.
        if (!chunk) continue;
        if (chunk.usage) noteUsage(ctx, chunk.usage);
        if (!opts.includeUsage && Array.isArray(chunk.choices) && chunk.choices.length === 0) write = false;
      }
      if (!started) start();
      if (data.startsWith('{"error"')) {
        // The upstream's own mid-stream error event: pass it on and end as it did.
        const body = parseObject(data) as ErrorBody | null;
        const type = body?.error?.type;
        noteFailure(ctx, { status: 200, type: typeof type === 'string' ? (type as never) : 'upstream_error' }, false);
        out.endWithError(
          body ??
            errorBody('The upstream sent an error event that is not JSON.', 'upstream_error', 'bad_upstream_response'),
        );
        return;
      }
      if (write) {
        relayed.push(data);
        const slowClient = out.data(data, opts.signal);
        if (slowClient) await slowClient;
      }
    }
  } catch (err) {
    const e = streamFailure(err, reply, ctx, opts.signal, opts.log, started);
    if (!e) return;
    out.endWithError(e.toBody());
    return;
  }
  if (!started) {
    // Nothing was sent, so the client can still get a status: an empty stream (or one the
    // SSE parser found no event in) is the upstream's failure, not an empty answer.
    if (!done) {
      const err = emptyStream(ctx);
      logAttemptFailure(opts.log, err, ctx.provider, ctx.upstreamModel);
      throw err;
    }
    start();
  }
  if (done) {
    out.endWithDone();
  } else {
    noteFailure(ctx, { status: 200, type: 'upstream_error' }, false);
    out.endWithError(
      errorBody('The upstream closed the stream before it finished.', 'upstream_error', 'upstream_stream_incomplete'),
    );
  }
}

/** The payload as an object, or null when it is not JSON or not an object. */
function parseObject(data: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(data);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

// The upstream's failures this writer is first to see (the rest are built in providers/).

function emptyStream(ctx: ChatContext): UpstreamError {
  return upstreamErrors.emptyStream(ctx.provider);
}

function notJson(ctx: ChatContext): UpstreamError {
  return upstreamErrors.eventNotJson(ctx.provider);
}
