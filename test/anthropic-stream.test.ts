/**
 * The Anthropic stream and error translation in isolation: the corners the mock's ordinary
 * answers do not reach (a tool whose input came whole with its start, cumulative usage fields
 * in message_delta, unknown event types, a stream that stops after message_delta) and the
 * status each Anthropic error type stands for.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AnthropicEvent, streamEvents } from '../src/providers/anthropic/stream.js';
import type { CompletionEvent } from '../src/providers/completion-events.js';
import { renderChunks } from '../src/providers/completion-events.js';
import { UpstreamError, upstreamErrors } from '../src/providers/errors.js';

async function* from(events: AnthropicEvent[]): AsyncGenerator<AnthropicEvent> {
  yield* events;
}
async function collect(events: AnthropicEvent[]): Promise<CompletionEvent[]> {
  const out: CompletionEvent[] = [];
  for await (const e of streamEvents(from(events), 'anthropic')) out.push(e);
  return out;
}

const start: AnthropicEvent = {
  type: 'message_start',
  message: { id: 'msg_1', model: 'claude-x', usage: { input_tokens: 10, output_tokens: 1 } },
};

describe('Anthropic stream → events', () => {
  it('a tool whose input came whole with its start (no fragments) gets it as its arguments', async () => {
    const events = await collect([
      start,
      {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'tool_use', id: 't', name: 'f', input: { a: 1 } },
      },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 9 } },
      { type: 'message_stop' },
    ]);
    assert.deepEqual(events.slice(0, 2), [
      { type: 'tool_start', key: 0, id: 't', name: 'f' },
      { type: 'tool_args', key: 0, delta: '{"a":1}' },
    ]);
  });

  it('message_delta’s cumulative usage replaces message_start’s field by field; unknown events are ignored', async () => {
    const events = await collect([
      start,
      { type: 'some_new_event' } as AnthropicEvent,
      { type: 'content_block_start', index: 0, content_block: { type: 'text' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'citations_delta' } },
      { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { input_tokens: 11, output_tokens: 4 } },
      { type: 'message_stop' },
    ]);
    assert.deepEqual(events, [
      { type: 'text', text: 'Hi' },
      { type: 'finish', reason: 'stop' },
      { type: 'usage', usage: { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 } },
    ]);
  });

  it('a stream that ends after message_delta but before message_stop is incomplete', async () => {
    const chunks = renderChunks(
      streamEvents(
        from([start, { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 2 } }]),
        'anthropic',
      ),
      { id: 'chatcmpl-1', model: 'm', created: 1 },
      'anthropic',
    );
    await assert.rejects(
      (async () => {
        for await (const _ of chunks);
      })(),
      (e: unknown) => e instanceof UpstreamError && e.code === 'upstream_stream_incomplete',
    );
  });

  it('an `event: error` throws the error it stands for', async () => {
    await assert.rejects(
      collect([start, { type: 'error', error: { type: 'api_error', message: 'Internal server error' } }]),
      (e: unknown) => e instanceof UpstreamError && e.status === 502 && e.code === 'api_error',
    );
  });
});

describe('Anthropic errors in OpenAI’s envelope', () => {
  it('stream error types choose a status; unknown ones are 502', () => {
    const status = (type: string | null) => upstreamErrors.anthropic('a', null, type, 'm').status;
    assert.equal(status('overloaded_error'), 503);
    assert.equal(status('rate_limit_error'), 429);
    assert.equal(status('api_error'), 502);
    assert.equal(status('timeout_error'), 504);
    assert.equal(status('invalid_request_error'), 400);
    assert.equal(status('something_new'), 502);
    assert.equal(status(null), 502);
  });

  it('HTTP statuses are kept except 529 → 503; the type becomes the code when it is plain', () => {
    const e = upstreamErrors.anthropic('a', 529, 'overloaded_error', 'Overloaded', { 'retry-after': '3' });
    assert.equal(e.status, 503);
    assert.ok(e.retryable);
    assert.deepEqual(JSON.parse(e.toJson()), {
      error: { message: 'Overloaded', type: 'service_unavailable', param: null, code: 'overloaded_error' },
    });
    assert.deepEqual(e.headers, { 'retry-after': '3' });
    assert.equal(upstreamErrors.anthropic('a', 413, 'request_too_large', 'big').status, 413);
    const odd = upstreamErrors.anthropic('a', 500, 'Weird Type!', undefined);
    assert.equal(odd.code, 'upstream_500');
    assert.equal(odd.message, 'Upstream a answered HTTP 500');
  });
});
