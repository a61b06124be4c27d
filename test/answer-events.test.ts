import assert from 'node:assert/strict';
import { test } from 'node:test';
import { completionEvents, streamEvents } from '../src/pipeline/answer-events.js';
import { type CompletionEvent, fullUsage, renderChunks, renderCompletion } from '../src/providers/completion-events.js';

const meta = { id: 'chatcmpl-1', model: 'm', created: 1 };
const events: CompletionEvent[] = [
  { type: 'text', text: 'Hi. ' },
  { type: 'tool_start', key: 'a', id: 'call_a', name: 'lookup', extra: { extra_content: { google: { x: 1 } } } },
  { type: 'tool_args', key: 'a', delta: '{"q":"x"}' },
  { type: 'finish', reason: 'tool_calls' },
  { type: 'usage', usage: fullUsage(7, 3) },
];
const expected: CompletionEvent[] = [
  { type: 'text', text: 'Hi. ' },
  { type: 'tool_start', key: 0, id: 'call_a', name: 'lookup', extra: { extra_content: { google: { x: 1 } } } },
  { type: 'tool_args', key: 0, delta: '{"q":"x"}' },
  { type: 'finish', reason: 'tool_calls' },
  { type: 'usage', usage: fullUsage(7, 3) },
];

async function* from<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test('a stream of chunks reads back as the events that made it', async () => {
  const chunks = await collect(renderChunks(from(events), meta, 'p'));
  assert.deepEqual(await collect(streamEvents(from(chunks), 'p')), expected);
});

test('a completion reads back as the events that made it', () => {
  assert.deepEqual(completionEvents(renderCompletion(events, meta, 'p').body, 'p'), expected);
});

test('an error event, a non-JSON payload and a missing [DONE] throw catalogue errors', async () => {
  await assert.rejects(collect(streamEvents(from(['{"error":{"message":"boom","type":"server_error"}}']), 'p')), {
    message: 'boom',
  });
  await assert.rejects(collect(streamEvents(from(['nope']), 'p')), { code: 'bad_upstream_response' });
  await assert.rejects(collect(streamEvents(from(['{"choices":[]}']), 'p')), { code: 'upstream_stream_incomplete' });
});
