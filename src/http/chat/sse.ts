/**
 * Server-Sent Events as OpenAI writes them: `data: <json>\n\n` per chunk, `data: [DONE]`
 * at the end, no `event:` lines. No compression and no holding back, so a token leaves
 * Parley the moment it arrives (Node's HTTP server disables Nagle).
 */
import { once } from 'node:events';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ErrorBody } from '../../protocol/errors.js';

/** Starts the stream; `headers` are those already set for the response (x-request-id, CORS). */
export function startSse(res: ServerResponse, headers: OutgoingHttpHeaders): void {
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // Tells nginx-style proxies in front of Parley not to buffer the stream.
    'x-accel-buffering': 'no',
  });
}

/**
 * Writes a stream's events. Events that arrive together (one upstream read often holds
 * several) leave in one response write: each is appended to a buffer written on
 * process.nextTick, which runs as soon as everything already received has been handled and
 * the relay is waiting for the upstream again. No token waits for a later one, and a burst
 * costs one pass through Node's HTTP write path instead of one per event (the benchmark's
 * stream profile).
 */
export class SseWriter {
  private pending = '';

  constructor(private readonly res: ServerResponse) {}

  /** Queues one event; returns a promise to await only when the client reads slowly. */
  data(payload: string, signal: AbortSignal): Promise<unknown> | undefined {
    if (this.pending === '') process.nextTick(flushWriter, this);
    this.pending += `data: ${payload}\n\n`;
    if (this.res.writableNeedDrain) return once(this.res, 'drain', { signal });
    return undefined;
  }

  flush(): void {
    const chunk = this.pending;
    this.pending = '';
    if (chunk !== '' && !this.res.writableEnded && !this.res.destroyed) this.res.write(chunk);
  }

  endWithDone(): void {
    this.end('data: [DONE]\n\n');
  }

  /** After the stream has started, an error is one event, and the stream closes without [DONE]. */
  endWithError(body: ErrorBody): void {
    this.end(`data: ${JSON.stringify(body)}\n\n`);
  }

  private end(last: string): void {
    const chunk = this.pending + last;
    this.pending = '';
    this.res.end(chunk);
  }
}

function flushWriter(writer: SseWriter): void {
  writer.flush();
}
