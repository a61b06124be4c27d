/**
 * Server-Sent Events as the Responses API writes them: an `event: <type>` line before each
 * `data:` line (the Chat Completions stream has none), and no [DONE] at the end. Events made
 * together leave in one write; a slow client is waited for (backpressure).
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { StreamEvent } from './response.js';

export class EventWriter {
  constructor(private readonly res: ServerResponse) {}

  /** Writes the events; returns a promise to await only when the client reads slowly. */
  write(events: StreamEvent[], signal: AbortSignal): Promise<unknown> | undefined {
    if (events.length === 0 || this.res.writableEnded || this.res.destroyed) return undefined;
    this.res.write(serialise(events));
    if (this.res.writableNeedDrain) return once(this.res, 'drain', { signal });
    return undefined;
  }

  end(events: StreamEvent[]): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    this.res.end(serialise(events));
  }
}

function serialise(events: StreamEvent[]): string {
  let out = '';
  for (const e of events) out += `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
  return out;
}
