/**
 * Types Parley uses for chat requests and responses, taken from the generated spec types
 * so they cannot drift from the schemas that validate the wire.
 */
import type {
  CompletionUsage,
  CreateChatCompletionRequest,
  CreateChatCompletionResponse,
  CreateChatCompletionStreamResponse,
} from './openai/types.js';

/** A validated request body: the spec's fields plus whatever else the client sent. */
export type ChatRequest = CreateChatCompletionRequest & Record<string, unknown>;
export type ChatCompletion = CreateChatCompletionResponse;
export type ChatCompletionChunk = CreateChatCompletionStreamResponse;
export type Usage = Pick<CompletionUsage, 'prompt_tokens' | 'completion_tokens' | 'total_tokens'>;

/** max_completion_tokens wins over the deprecated max_tokens, as at OpenAI. */
export function maxTokensOf(req: ChatRequest): number | undefined {
  return req.max_completion_tokens ?? req.max_tokens ?? undefined;
}

export function includeUsageOf(req: ChatRequest): boolean {
  return req.stream_options?.include_usage === true;
}

export function stopSequencesOf(req: ChatRequest): string[] {
  const s = req.stop;
  if (s == null) return [];
  return (typeof s === 'string' ? [s] : s).filter((x): x is string => typeof x === 'string' && x.length > 0);
}
