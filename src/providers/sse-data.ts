/**
 * Reads an upstream text/event-stream body as a sequence of `data` payloads.
 * Parsing is eventsource-parser's (CRLF, multi-line data, comments, split chunks);
 * payloads are yielded as the strings received so unchanged chunks are never re-serialized.
 */
import { Readable } from 'node:stream';
import { createParser } from 'eventsource-parser';

/** What an upstream may still send after `[DONE]` before Parley stops reading it. */
const MAX_BYTES_AFTER_DONE = 64 * 1024;

/** OpenAI's last event. */
const isDone = (data: string) => data === '[DONE]';

/**
 * `isLast` recognises the protocol's final event (OpenAI's `[DONE]`, the default; Anthropic's
 * message_stop): a reader that stops after it leaves the rest of the body drained, not destroyed.
 */
export async function* sseData(
  body: Readable | AsyncIterable<Buffer>,
  isLast: (data: string) => boolean = isDone,
): AsyncGenerator<string> {
  let pending: string[] = [];
  let sawDone = false;
  const parser = createParser({
    onEvent: (event) => {
      if (isLast(event.data)) sawDone = true;
      pending.push(event.data);
    },
  });
  const decoder = new TextDecoder();
  // The caller stops at `[DONE]`, usually before the body has emitted 'end'. Letting
  // for-await destroy the body then costs an AbortError with a stack trace per stream
  // (a few % of CPU under load in the benchmark's profile), so the body is iterated
  // without destroy-on-return and what is left after [DONE] is drained instead.
  const readable = body instanceof Readable ? body : null;
  const source = readable ? readable.iterator({ destroyOnReturn: false }) : body;
  let ended = false;
  try {
    for await (const chunk of source) {
      parser.feed(decoder.decode(chunk as Buffer, { stream: true }));
      if (pending.length === 0) continue;
      const ready = pending;
      pending = [];
      for (const data of ready) yield data;
    }
    ended = true;
  } finally {
    if (readable && !ended && !readable.destroyed) {
      // Nobody listens to this body any more: its errors (undici's "Request aborted" on
      // destroy, a late transport error) must not surface as uncaught exceptions.
      readable.on('error', () => {});
      if (sawDone) drainRest(readable);
      else readable.destroy();
    }
  }
}

/** Reads (and drops) the rest of a finished stream's body, normally just its terminator. */
function drainRest(body: Readable): void {
  let bytes = 0;
  body.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > MAX_BYTES_AFTER_DONE) body.destroy();
  });
}
