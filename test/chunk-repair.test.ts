/** The two repairs on streams relayed from OpenAI-compatible upstreams (providers/openai-compatible/chunk-repair.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChunkRepair } from '../src/providers/openai-compatible/chunk-repair.js';

const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' };
const chunk = (choices: unknown[], extra: object = {}) => JSON.stringify({ ...base, choices, ...extra });
const text = (t: string, finish: string | null = null) =>
  chunk([{ index: 0, delta: { content: t }, finish_reason: finish }]);
const usage = chunk([], { usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });

/** What the relay sends for `payloads`, as openai-compatible/index.ts drives the repair. */
function relay(payloads: string[]): string[] {
  const r = new ChunkRepair();
  const out: string[] = [];
  for (const p of payloads) {
    out.push(...(r.before(p) ?? []));
    const now = r.fix(p);
    if (now !== null) out.push(now);
  }
  const rest = r.rest();
  if (rest !== null) out.push(rest);
  return out;
}

describe('ChunkRepair', () => {
  it('passes a well-formed stream through byte for byte', () => {
    const stream = [text('Hi'), text(' there'), text('', 'stop'), usage, '[DONE]'];
    assert.deepEqual(relay(stream), stream);
  });

  it('sends a usage-only chunk that comes mid-stream as it came, and adds no finish for it', () => {
    const stream = [text('Hi'), usage, text(' there', 'stop'), '[DONE]'];
    assert.deepEqual(relay(stream), stream);
  });

  it('adds the finish before the usage chunk when the stream ends without one', () => {
    const out = relay([text('Hi'), usage, '[DONE]']);
    assert.equal(out.length, 4);
    assert.equal(JSON.parse(out[1]!).choices[0].finish_reason, 'stop');
    assert.equal(JSON.parse(out[1]!).id, 'chatcmpl-1');
    assert.deepEqual(out.slice(2), [usage, '[DONE]']);
  });

  it('keeps a held usage chunk when the upstream stops without [DONE] (its tokens still count)', () => {
    assert.deepEqual(relay([text('Hi'), usage]), [text('Hi'), usage]);
  });

  it('takes a repeated name and id off a call, per choice and call index', () => {
    const call = (i: number, args: string) => ({
      index: i,
      id: `c${i}`,
      type: 'function',
      function: { name: `f${i}`, arguments: args },
    });
    const out = relay([
      chunk([{ index: 0, delta: { tool_calls: [call(0, ''), call(1, '')] }, finish_reason: null }]),
      chunk([{ index: 0, delta: { tool_calls: [call(0, '{}'), call(1, '{"a":1}')] }, finish_reason: null }]),
      '[DONE]',
    ]).map((p) => (p === '[DONE]' ? p : JSON.parse(p)));
    assert.deepEqual(
      out[0].choices[0].delta.tool_calls.map((c: { function: { name: string } }) => c.function.name),
      ['f0', 'f1'],
    );
    assert.deepEqual(out[1].choices[0].delta.tool_calls, [
      { index: 0, function: { arguments: '{}' } },
      { index: 1, function: { arguments: '{"a":1}' } },
    ]);
    assert.equal(out[2].choices[0].finish_reason, 'tool_calls');
    assert.equal(out[3], '[DONE]');
  });
});
