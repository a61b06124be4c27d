/**
 * What Responses API clients rely on, checked on every response and stream a test reads: each
 * event and the response object validate against the OpenAI spec's schemas (ResponseStreamEvent,
 * Response), sequence numbers count up from 0, the lifecycle is in the documented order, every
 * item that is added is done, and the terminal event carries the whole response.
 */
import assert from 'node:assert/strict';
import { assertSpec } from './openai-spec.js';

export interface RawEvent {
  /** The SSE `event:` line. */
  event: string | null;
  data: Record<string, unknown> & { type: string; sequence_number: number };
}

/** Reads a Responses SSE body into its events (every block must have event: and data: lines). */
export async function responseEvents(res: Response): Promise<RawEvent[]> {
  const text = await res.text();
  assert.ok(!text.includes('[DONE]'), 'a Responses stream has no [DONE]');
  return text
    .split('\n\n')
    .filter((b) => b.trim())
    .map((block) => {
      let event: string | null = null;
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
        else assert.fail(`unexpected SSE line ${JSON.stringify(line)}`);
      }
      return { event, data: JSON.parse(data) };
    });
}

const TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/** Checks a whole stream; returns the terminal event's response. */
type StreamedResponse = Record<string, unknown> & {
  id: string;
  status: string;
  output: { id: string; type: string }[];
};

export function checkResponseStream<T = StreamedResponse>(
  events: { event?: string | null; data: RawEvent['data'] }[],
): T {
  assert.ok(events.length >= 3, 'at least created, in_progress and a terminal event');
  events.forEach((e, i) => {
    if (e.event !== undefined) assert.equal(e.event, e.data.type, 'the event: line names the type');
    assert.equal(e.data.sequence_number, i, 'sequence_number counts up from 0');
    assertSpec('ResponseStreamEvent', e.data);
  });
  const types = events.map((e) => e.data.type);
  assert.equal(types[0], 'response.created');
  assert.equal(types[1], 'response.in_progress');
  // After response.failed comes OpenAI's `error` event, and nothing else.
  const trailingError = events.at(-1)!.data.type === 'error';
  if (trailingError)
    assert.equal(events.at(-2)?.data.type, 'response.failed', 'an error event follows response.failed');
  const last = events.at(trailingError ? -2 : -1)!.data;
  assert.ok(TERMINAL.has(last.type), `ends with a terminal event, not ${last.type}`);
  assert.equal(types.filter((t) => TERMINAL.has(t)).length, 1, 'exactly one terminal event');
  const response = last.response as StreamedResponse;
  assertSpec('Response', response);
  const created = events[0]!.data.response as { id: string };
  assert.equal(response.id, created.id, 'the same response id throughout');
  assert.match(response.id, /^resp_/);
  // Every added item is done (or the stream failed), at its index, with its id.
  const added = events.filter((e) => e.data.type === 'response.output_item.added');
  const done = events.filter((e) => e.data.type === 'response.output_item.done');
  if (last.type !== 'response.failed') {
    assert.equal(done.length, added.length, 'every output_item.added has its output_item.done');
    assert.deepEqual(
      response.output.map((o) => o.id),
      added.map((e) => (e.data.item as { id: string }).id),
      'the final output lists the streamed items in order',
    );
  }
  for (const e of events) {
    const itemId = e.data.item_id as string | undefined;
    if (itemId === undefined) continue;
    const index = e.data.output_index as number;
    assert.equal((added[index]?.data.item as { id: string } | undefined)?.id, itemId, `${e.data.type} names its item`);
    const kind = (added[index]!.data.item as { type: string }).type;
    if (e.data.type.startsWith('response.function_call_arguments')) assert.equal(kind, 'function_call');
    if (e.data.type.startsWith('response.output_text') || e.data.type.startsWith('response.content_part'))
      assert.equal(kind, 'message');
  }
  // Text deltas only between their part's added and done.
  for (const a of added.filter((e) => (e.data.item as { type: string }).type === 'message')) {
    const id = (a.data.item as { id: string }).id;
    const mine = events
      .filter((e) => e.data.item_id === id || (e.data.item as { id?: string })?.id === id)
      .map((e) => e.data.type);
    const order = [
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
    ];
    const ranks = mine.map((t) => order.indexOf(t));
    assert.ok(
      ranks.every((r, i) => r >= 0 && (i === 0 || r >= ranks[i - 1]!)),
      `message events in order: ${mine.join(', ')}`,
    );
  }
  return response as unknown as T;
}

export function checkResponse(r: unknown): void {
  assertSpec('Response', r);
}
