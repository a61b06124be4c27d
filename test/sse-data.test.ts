/**
 * sseData: what happens to the upstream body when the reader stops early. After `[DONE]`
 * the rest is drained (not destroyed: destroying costs an error with a stack per stream);
 * before it, the body is destroyed so the upstream request ends.
 */

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { sseData } from '../src/providers/sse-data.js';

async function readUntil(body: PassThrough, stopAt: string): Promise<string[]> {
  const seen: string[] = [];
  for await (const data of sseData(body)) {
    seen.push(data);
    if (data === stopAt) break;
  }
  return seen;
}

describe('sseData', () => {
  it('yields each data payload as received, across split chunks', async () => {
    const body = new PassThrough();
    const reading = (async () => {
      const out: string[] = [];
      for await (const d of sseData(body)) out.push(d);
      return out;
    })();
    body.write('data: {"a":1}\n');
    body.write('\ndata: {"b"');
    body.write(':2}\n\n: comment\n\ndata: [DONE]\n\n');
    body.end();
    assert.deepEqual(await reading, ['{"a":1}', '{"b":2}', '[DONE]']);
  });

  it('drains the rest of the body after [DONE] instead of destroying it', async () => {
    const body = new PassThrough();
    body.write('data: {"a":1}\n\ndata: [DONE]\n\n');
    const seen = await readUntil(body, '[DONE]');
    assert.deepEqual(seen, ['{"a":1}', '[DONE]']);
    assert.equal(body.destroyed, false, 'not destroyed at [DONE]');
    const ended = once(body, 'end');
    body.end('\n');
    await ended;
    assert.equal(body.readableEnded, true, 'read to its end');
  });

  it('destroys the body when the reader stops before [DONE], without an uncaught error', async () => {
    const body = new PassThrough();
    body.write('data: {"a":1}\n\n');
    const seen = await readUntil(body, '{"a":1}');
    assert.deepEqual(seen, ['{"a":1}']);
    assert.equal(body.destroyed, true);
  });

  it('stops draining an upstream that keeps sending after [DONE]', async () => {
    const body = new PassThrough();
    body.write('data: [DONE]\n\n');
    await readUntil(body, '[DONE]');
    const closed = once(body, 'close');
    body.write(Buffer.alloc(128 * 1024, 'x'));
    await closed;
    assert.equal(body.destroyed, true);
  });

  it("drains after another protocol's last event (Anthropic's message_stop) when told which it is", async () => {
    const body = new PassThrough();
    body.write('event: message_stop\ndata: {"type":"message_stop"}\n\n');
    const seen: string[] = [];
    for await (const d of sseData(body, (d) => d.includes('"message_stop"'))) {
      seen.push(d);
      break;
    }
    assert.deepEqual(seen, ['{"type":"message_stop"}']);
    assert.equal(body.destroyed, false, 'not destroyed after the last event');
    const ended = once(body, 'end');
    body.end('\n');
    await ended;
  });
});
