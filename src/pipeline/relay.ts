/**
 * Relays a provider's stream to the client with the least work: each upstream `data`
 * payload is written as received. Only chunks that mention a usage object are parsed,
 * to count tokens, and the usage-only chunk Parley asked for is dropped when the client
 * did not ask for it. Headers go out with the first chunk, so a failure before it can
 * still answer with a proper HTTP status.
 *
 * An upstream that misbehaves ends this one request, never the process: a payload that is
 * not a JSON object (one character is checked, not the whole chunk) is a 502 before the
 * first byte and one error event after it; a stream that ends without any event is a 502;
 * a usage chunk that does not parse is left out and the stream goes on.
 */
import type { ServerResponse } from 'node:http';
import type { Usage } from '../protocol/chat.js';
import { errorBody, type ErrorBody } from '../protocol/errors.js';
import { SseWriter, startSse } from '../http/sse.js';
import { UpstreamError } from '../providers/types.js';
import type { ChatContext } from './context.js';

/** Abort reason when shutdown's grace period ends: the client gets an error event, not a cut connection. */
export const SHUTDOWN = Object.assign(new Error('Parley is shutting down; the stream was ended before it finished.'), { type: 'service_unavailable', code: 'shutting_down' });

const HAS_USAGE = /"usage"\s*:\s*\{/;
const OPEN_BRACE = 0x7b;

export interface RelayOptions {
  includeUsage: boolean;
  signal: AbortSignal;
}

/**
 * Returns once the stream has ended. Throws only when it fails before its first chunk
 * (nothing sent yet: the caller answers with an HTTP error). Later failures end the
 * stream with an error event and are noted on `ctx`.
 */
export async function relayStream(res: ServerResponse, events: AsyncIterable<string>, ctx: ChatContext, opts: RelayOptions): Promise<void> {
  let started = false;
  let done = false;
  const out = new SseWriter(res);
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
        if (chunk.usage) ctx.usage = chunk.usage;
        if (!opts.includeUsage && Array.isArray(chunk.choices) && chunk.choices.length === 0) write = false;
      }
      if (!started) {
        startSse(res, ctx.requestId);
        started = true;
        ctx.status = 200;
        ctx.ttftMs = Math.round((performance.now() - ctx.start) * 1000) / 1000;
      }
      if (data.startsWith('{"error"')) {
        // The upstream's own mid-stream error event: pass it on and end as it did.
        const body = parseObject(data) as ErrorBody | null;
        const type = body?.error?.type;
        ctx.errorType = typeof type === 'string' ? type : 'upstream_error';
        out.endWithError(body ?? errorBody('The upstream sent an error event that is not JSON.', 'upstream_error', 'bad_upstream_response'));
        return;
      }
      if (write) {
        const slowClient = out.data(data, opts.signal);
        if (slowClient) await slowClient;
      }
    }
  } catch (err) {
    if (opts.signal.aborted && opts.signal.reason !== SHUTDOWN) {
      ctx.clientAborted = !res.writableEnded;
      if (!started) ctx.status = 499;
      if (!res.destroyed) res.destroy();
      return;
    }
    if (opts.signal.reason === SHUTDOWN) err = SHUTDOWN;
    if (!started) throw err;
    const e = err as { type?: string; code?: string | null; message?: string };
    ctx.errorType = e.type ?? 'server_error';
    out.endWithError(errorBody(e.message ?? 'The upstream stream failed', (e.type as never) ?? 'server_error', e.code ?? 'stream_error'));
    return;
  }
  if (!started) {
    // Nothing was sent, so the client can still get a status: an empty stream (or one the
    // SSE parser found no event in) is the upstream's failure, not an empty answer.
    if (!done) throw new UpstreamError(502, `Upstream ${ctx.provider} ended its stream without sending any event`, 'upstream_error', 'bad_upstream_response');
    startSse(res, ctx.requestId);
    ctx.status = 200;
  }
  if (done) {
    out.endWithDone();
  } else {
    ctx.errorType = 'upstream_error';
    out.endWithError(errorBody('The upstream closed the stream before it finished.', 'upstream_error', 'upstream_stream_incomplete'));
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

function notJson(ctx: ChatContext): UpstreamError {
  return new UpstreamError(502, `Upstream ${ctx.provider} sent a stream event that is not a JSON object`, 'upstream_error', 'bad_upstream_response');
}
