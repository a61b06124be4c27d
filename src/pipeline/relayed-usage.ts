/**
 * The usage of a stream that ended without the upstream's (a barge-in, a cut, a deadline),
 * noted the same way by every writer that relays a stream: Chat Completions, the Responses
 * and Messages APIs, Retell's WebSocket. A streamed request that produced tokens is never
 * recorded with none (usage/estimate.ts counts them with a real tokenizer, marked estimated).
 */
import type { ChatRequest } from '../protocol/chat.js';
import type { RelayedStream } from '../usage/estimate.js';
import { type ChatContext, noteEstimatedUsage, tokenCount } from './context.js';

/** The stream's payloads as received, each also kept in `into` (all the hot path pays: one push). */
export async function* keptIn(events: AsyncIterable<string>, into: RelayedStream): AsyncGenerator<string> {
  for await (const data of events) {
    if (data !== '[DONE]') into.push(data);
    yield data;
  }
}

/** Notes Parley's own count when the upstream reported no completion tokens and something was relayed (or the client left). */
export function noteRelayedUsage(
  ctx: ChatContext,
  relayed: RelayedStream,
  request: Pick<ChatRequest, 'messages' | 'tools'> | undefined,
  aborted: boolean,
): void {
  if (tokenCount(ctx.usage?.completion_tokens) === null && (!relayed.empty || aborted)) {
    noteEstimatedUsage(ctx, relayed.usage(request, ctx.usage));
  }
}
