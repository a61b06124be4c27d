import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CompletionEvent, fullUsage, renderChunks, renderCompletion } from '../src/providers/completion-events.js';

const meta = { id: 'chatcmpl-1', model: 'm', created: 1 };

async function* from(events: CompletionEvent[]): AsyncGenerator<CompletionEvent> {
  yield* events;
}

async function chunks(events: CompletionEvent[]): Promise<string[]> {
  const out: string[] = [];
  for await (const c of renderChunks(from(events), meta, 'p')) out.push(c);
  return out;
}

const toolEvents: CompletionEvent[] = [
  { type: 'text', text: 'Let me check.' },
  { type: 'tool_start', key: 5, id: 'call_a', name: 'a' },
  { type: 'tool_args', key: 5, delta: '{"x":' },
  { type: 'tool_start', key: 9, id: 'call_b', name: 'b' },
  { type: 'tool_args', key: 5, delta: '1}' },
  { type: 'finish', reason: 'stop' },
  { type: 'usage', usage: fullUsage(10, 5, 4, 2) },
];

test('stream: role once, tool indexes 0..n-1 by start order, "{}" for a call without arguments, tool_calls finish, usage last', async () => {
  const out = await chunks(toolEvents);
  assert.equal(out.at(-1), '[DONE]');
  const parsed = out.slice(0, -1).map((c) => JSON.parse(c));
  const roles = parsed.filter((c) => c.choices[0]?.delta?.role);
  assert.equal(roles.length, 1);
  assert.equal(parsed[0].choices[0].delta.role, 'assistant');
  const calls = parsed.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
  assert.deepEqual(
    calls.map((c: { index: number }) => c.index),
    [0, 0, 1, 0, 1],
  );
  assert.deepEqual(calls[0], { index: 0, id: 'call_a', type: 'function', function: { name: 'a', arguments: '' } });
  assert.deepEqual(calls[4], { index: 1, function: { arguments: '{}' } });
  const finishes = parsed.filter((c) => c.choices[0]?.finish_reason);
  assert.equal(finishes.length, 1);
  assert.equal(finishes[0].choices[0].finish_reason, 'tool_calls');
  const last = parsed.at(-1);
  assert.deepEqual(last.choices, []);
  assert.deepEqual(last.usage, {
    prompt_tokens: 10,
    completion_tokens: 5,
    total_tokens: 15,
    prompt_tokens_details: { cached_tokens: 4 },
    completion_tokens_details: { reasoning_tokens: 2 },
  });
});

test('JSON and stream agree', () => {
  const { body, usage } = renderCompletion(toolEvents, meta, 'p');
  const c = JSON.parse(body);
  assert.equal(c.object, 'chat.completion');
  assert.equal(c.choices[0].message.content, 'Let me check.');
  assert.equal(c.choices[0].finish_reason, 'tool_calls');
  assert.deepEqual(
    c.choices[0].message.tool_calls.map((t: { function: { arguments: string } }) => t.function.arguments),
    ['{"x":1}', '{}'],
  );
  assert.equal(usage?.total_tokens, 15);
});

test('a stream with no finish is an incomplete upstream stream, not [DONE]', async () => {
  await assert.rejects(chunks([{ type: 'text', text: 'hi' }]), { code: 'upstream_stream_incomplete' });
});

test('a finish with nothing before it still sends the role', async () => {
  const out = await chunks([{ type: 'finish', reason: 'length' }]);
  const first = JSON.parse(out[0]!);
  assert.deepEqual(first.choices[0].delta, { role: 'assistant', content: '' });
  assert.equal(first.choices[0].finish_reason, 'length');
});
