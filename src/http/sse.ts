/**
 * Server-Sent Events as OpenAI writes them: `data: <json>\n\n` per chunk, `data: [DONE]`
 * at the end, no `event:` lines. One socket write per chunk and no compression, so a
 * token leaves Parley the moment it arrives (Node's HTTP server disables Nagle).
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { ErrorBody } from '../protocol/errors.js';

export function startSse(res: ServerResponse, requestId: string): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // Tells nginx-style proxies in front of Parley not to buffer the stream.
    'x-accel-buffering': 'no',
    'x-request-id': requestId,
  });
}

/** Writes one event; waits for the socket to drain when the client reads slowly. */
export async function writeData(res: ServerResponse, data: string, signal: AbortSignal): Promise<void> {
  if (!res.write(`data: ${data}\n\n`)) await once(res, 'drain', { signal });
}

export function endWithDone(res: ServerResponse): void {
  res.end('data: [DONE]\n\n');
}

/** After the stream has started, an error is one event, and the stream closes without [DONE]. */
export function endWithError(res: ServerResponse, body: ErrorBody): void {
  res.end(`data: ${JSON.stringify(body)}\n\n`);
}
