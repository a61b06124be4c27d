/**
 * Server-Sent Events as Anthropic writes them: `event: <type>` then `data: <json>` per event
 * (OpenAI's streams have no event lines). Batched like the chat route's SseWriter: events
 * handled in the same tick leave in one socket write, and no token waits for a later one.
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';

export class EventWriter {
  private pending = '';

  constructor(private readonly res: ServerResponse) {}

  /** Queues one event; returns a promise to await only when the client reads slowly. */
  event(name: string, data: unknown, signal: AbortSignal): Promise<unknown> | undefined {
    return this.raw(name, JSON.stringify(data), signal);
  }

  /** Queues one event whose data is already JSON text (relayed as received). */
  raw(name: string, data: string, signal: AbortSignal): Promise<unknown> | undefined {
    if (this.pending === '') process.nextTick(flushWriter, this);
    this.pending += `event: ${name}\ndata: ${data}\n\n`;
    if (this.res.writableNeedDrain) return once(this.res, 'drain', { signal });
    return undefined;
  }

  flush(): void {
    const chunk = this.pending;
    this.pending = '';
    if (chunk !== '' && !this.res.writableEnded && !this.res.destroyed) this.res.write(chunk);
  }

  end(): void {
    const chunk = this.pending;
    this.pending = '';
    if (!this.res.writableEnded) this.res.end(chunk);
  }
}

function flushWriter(writer: EventWriter): void {
  writer.flush();
}
