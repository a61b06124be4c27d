/** The stream invariants OpenAI clients rely on, checked on every stream a test reads. */
import assert from 'node:assert/strict';
import { assertSpec } from './openai-spec.js';

export interface Chunk {
  id: string;
  created: number;
  choices: { index: number; delta: Record<string, unknown>; finish_reason: string | null }[];
  usage?: unknown;
}

export function checkStream(events: string[], opts: { n?: number; includeUsage?: boolean } = {}): Chunk[] {
  assert.equal(events.at(-1), '[DONE]', 'stream ends with [DONE]');
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Chunk);
  for (const c of chunks) assertSpec('CreateChatCompletionStreamResponse', c);
  assert.equal(new Set(chunks.map((c) => c.id)).size, 1, 'one id for all chunks');
  assert.equal(new Set(chunks.map((c) => c.created)).size, 1, 'one created for all chunks');
  const n = opts.n ?? 1;
  for (let i = 0; i < n; i++) {
    const mine = chunks.filter((c) => c.choices.some((ch) => ch.index === i));
    assert.ok(mine.length > 0, `choice ${i} has chunks`);
    assert.equal(
      mine[0]!.choices.find((ch) => ch.index === i)!.delta.role,
      'assistant',
      `first delta of choice ${i} carries the role`,
    );
    const finishes = mine.flatMap((c) => c.choices.filter((ch) => ch.index === i && ch.finish_reason !== null));
    assert.equal(finishes.length, 1, `exactly one finish_reason for choice ${i}`);
  }
  const usageChunks = chunks.filter((c) => c.choices.length === 0);
  if (opts.includeUsage) {
    assert.equal(usageChunks.length, 1, 'one usage chunk when include_usage is true');
    assert.equal(chunks.at(-1), usageChunks[0], 'the usage chunk comes last');
    assert.ok(usageChunks[0]!.usage, 'the usage chunk carries usage');
  } else {
    assert.equal(usageChunks.length, 0, 'no usage chunk unless asked');
  }
  return chunks;
}

export function contentOf(chunks: Chunk[], index = 0): string {
  return chunks
    .flatMap((c) => c.choices.filter((ch) => ch.index === index).map((ch) => (ch.delta.content as string | null) ?? ''))
    .join('');
}
