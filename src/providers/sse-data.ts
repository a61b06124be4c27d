/**
 * Reads an upstream text/event-stream body as a sequence of `data` payloads.
 * Parsing is eventsource-parser's (CRLF, multi-line data, comments, split chunks);
 * payloads are yielded as the strings received so unchanged chunks are never re-serialized.
 */
import { createParser } from 'eventsource-parser';

export async function* sseData(body: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let pending: string[] = [];
  const parser = createParser({ onEvent: (event) => pending.push(event.data) });
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    if (pending.length === 0) continue;
    const ready = pending;
    pending = [];
    for (const data of ready) yield data;
  }
}
