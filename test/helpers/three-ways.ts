/**
 * One request asked three ways — JSON, a raw stream, and the openai SDK's
 * chat.completions.stream(...).finalChatCompletion() — with every body and chunk checked
 * against the OpenAI spec, and the three answers checked to agree (content, tool calls apart
 * from their random ids, finish reason, usage).
 */
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { assertSpec } from './openai-spec.js';
import { postJson, sseEvents } from './parley.js';
import { type Chunk, checkStream } from './stream-checks.js';

export interface Assembled {
  content: string | null;
  toolCalls: { name: string; arguments: string; extra_content?: unknown }[];
  finish: string | null;
  usage: unknown;
}

/** The message a stream's chunks add up to, as a client assembles it. */
export function assemble(chunks: Chunk[]): Assembled & { ids: string[]; indexes: number[] } {
  let content = '';
  const calls: { id: string; name: string; arguments: string; extra_content?: unknown }[] = [];
  const indexes: number[] = [];
  let finish: string | null = null;
  let usage: unknown;
  for (const c of chunks) {
    if (c.usage) usage = c.usage;
    for (const ch of c.choices) {
      if (typeof ch.delta.content === 'string') content += ch.delta.content;
      for (const tc of (ch.delta.tool_calls as Record<string, unknown>[] | undefined) ?? []) {
        const index = tc.index as number;
        const fn = tc.function as { name?: string; arguments?: string };
        if (tc.id !== undefined) {
          assert.equal(index, calls.length, 'a new call takes the next index');
          assert.equal(fn.arguments, '', 'the first delta of a call has empty arguments');
          assert.equal(tc.type, 'function');
          indexes.push(index);
          calls.push({
            id: tc.id as string,
            name: fn.name!,
            arguments: '',
            ...(tc.extra_content ? { extra_content: tc.extra_content } : {}),
          });
        } else {
          assert.equal(fn.name, undefined, 'later deltas carry no name');
          assert.ok(calls[index], `a delta for call ${index} after its start`);
          calls[index]!.arguments += fn.arguments ?? '';
        }
      }
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  return {
    content,
    toolCalls: calls.map(({ id: _id, ...rest }) => rest),
    ids: calls.map((c) => c.id),
    indexes,
    finish,
    usage,
  };
}

function fromMessage(m: {
  content: string | null;
  tool_calls?: { function: { name: string; arguments: string }; extra_content?: unknown }[];
}): Assembled['toolCalls'] {
  return (m.tool_calls ?? []).map((t) => ({
    name: t.function.name,
    arguments: t.function.arguments,
    ...(t.extra_content ? { extra_content: t.extra_content } : {}),
  }));
}

export interface ThreeWays {
  json: Record<string, unknown> & {
    choices: { message: Record<string, unknown> & { content: string | null }; finish_reason: string }[];
    usage?: Record<string, unknown>;
  };
  stream: ReturnType<typeof assemble>;
  chunks: Chunk[];
  sdk: OpenAI.Chat.Completions.ChatCompletion;
}

export async function threeWays(url: string, key: string, body: Record<string, unknown>): Promise<ThreeWays> {
  const headers = { authorization: `Bearer ${key}` };
  const r = await postJson(`${url}/v1/chat/completions`, { ...body, stream: false }, headers);
  const text = await r.text();
  assert.equal(r.status, 200, text);
  const json = JSON.parse(text) as ThreeWays['json'];
  assertSpec('CreateChatCompletionResponse', json);

  const s = await postJson(
    `${url}/v1/chat/completions`,
    { ...body, stream: true, stream_options: { include_usage: true } },
    headers,
  );
  assert.equal(s.status, 200);
  const chunks = checkStream(await sseEvents(s), { includeUsage: true });
  const stream = assemble(chunks);

  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
  const sdk = await client.chat.completions
    .stream({
      ...body,
      stream_options: { include_usage: true },
    } as unknown as Parameters<typeof client.chat.completions.stream>[0])
    .finalChatCompletion();

  const msg = json.choices[0]!.message;
  const jsonCalls = fromMessage(msg as never);
  assert.deepEqual(stream.toolCalls, jsonCalls, 'stream and JSON tool calls agree');
  assert.deepEqual(fromMessage(sdk.choices[0]!.message as never), jsonCalls, 'SDK and JSON tool calls agree');
  assert.equal(stream.content, msg.content ?? '', 'stream and JSON content agree');
  assert.equal(sdk.choices[0]!.message.content ?? '', msg.content ?? '', 'SDK and JSON content agree');
  assert.equal(stream.finish, json.choices[0]!.finish_reason, 'stream and JSON finish agree');
  assert.equal(sdk.choices[0]!.finish_reason, json.choices[0]!.finish_reason, 'SDK and JSON finish agree');
  assert.deepEqual(stream.usage, json.usage, 'stream and JSON usage agree');
  assert.deepEqual(sdk.usage, json.usage, 'SDK and JSON usage agree');
  return { json, stream, chunks, sdk };
}
