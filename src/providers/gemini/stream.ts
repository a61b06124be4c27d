/**
 * A Gemini stream (`:streamGenerateContent?alt=sse`) as CompletionEvents. Each SSE `data:`
 * payload is one whole GenerateContentResponse (there is no `[DONE]`: the body just ends); an
 * error body sent instead of one, or a connection cut before the finish, ends the stream
 * with an UpstreamError (the writer's in-band error event).
 */
import type { CompletionEvent } from '../completion-events.js';
import { upstreamErrors } from '../errors.js';
import type { GeminiReader } from './response.js';
import type { GeminiResponse } from './wire.js';

export async function* streamEvents(
  data: AsyncIterable<string>,
  reader: GeminiReader,
  provider: string,
): AsyncGenerator<CompletionEvent> {
  for await (const payload of data) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      throw upstreamErrors.eventNotJson(provider);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw upstreamErrors.eventNotJson(provider);
    }
    yield* reader.events(parsed as GeminiResponse);
  }
}
