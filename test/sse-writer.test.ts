/**
 * SseWriter: events handled in the same tick leave in one write; none waits for a later
 * event; the end carries whatever is still queued.
 */

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { SseWriter } from '../src/http/chat/sse.js';

function fakeResponse() {
  const writes: string[] = [];
  const res = Object.assign(new EventEmitter(), {
    writableEnded: false,
    destroyed: false,
    writableNeedDrain: false,
    write(chunk: string) {
      writes.push(chunk);
      return true;
    },
    end(chunk: string) {
      writes.push(`END:${chunk}`);
      res.writableEnded = true;
    },
  });
  return { res, writes, asResponse: res as unknown as ServerResponse };
}

const tick = () => new Promise((resolve) => process.nextTick(resolve));
const signal = new AbortController().signal;

describe('SseWriter', () => {
  it('writes the events of one tick in one write, before the next tick', async () => {
    const { writes, asResponse } = fakeResponse();
    const out = new SseWriter(asResponse);
    assert.equal(out.data('{"a":1}', signal), undefined);
    out.data('{"b":2}', signal);
    assert.deepEqual(writes, [], 'nothing written synchronously');
    await tick();
    assert.deepEqual(writes, ['data: {"a":1}\n\ndata: {"b":2}\n\n']);
    out.data('{"c":3}', signal);
    await tick();
    assert.deepEqual(writes.at(-1), 'data: {"c":3}\n\n', 'a later event is written on its own');
  });

  it('ends with the queued events followed by [DONE] or the error event', async () => {
    const done = fakeResponse();
    const a = new SseWriter(done.asResponse);
    a.data('{"a":1}', signal);
    a.endWithDone();
    await tick();
    assert.deepEqual(done.writes, ['END:data: {"a":1}\n\ndata: [DONE]\n\n'], 'no write after the end');

    const failed = fakeResponse();
    const b = new SseWriter(failed.asResponse);
    b.data('{"a":1}', signal);
    b.endWithError({ error: { message: 'boom', type: 'upstream_error', param: null, code: null } });
    assert.deepEqual(failed.writes, [
      'END:data: {"a":1}\n\ndata: {"error":{"message":"boom","type":"upstream_error","param":null,"code":null}}\n\n',
    ]);
  });

  it('asks the caller to wait when the client reads slowly', async () => {
    const { res, asResponse } = fakeResponse();
    const out = new SseWriter(asResponse);
    res.writableNeedDrain = true;
    const wait = out.data('{"a":1}', signal);
    assert.ok(wait instanceof Promise, 'a promise to await for drain');
    let drained = false;
    const settled = wait.then(() => (drained = true));
    await tick();
    assert.equal(drained, false, 'still waiting before drain');
    res.emit('drain');
    await settled;
    assert.equal(drained, true);
  });
});
