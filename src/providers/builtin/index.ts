/**
 * The built-in offline model: what `default` serves when no upstream is configured, so
 * Parley and the clients built on it work on a fresh machine with no account.
 * It honours max_tokens / max_completion_tokens, stop, n, stream_options.include_usage,
 * and a forced tool_choice (a tool call whose arguments satisfy the tool's schema).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ChatCompletion,
  type ChatCompletionChunk,
  type ChatRequest,
  maxTokensOf,
  stopSequencesOf,
  type Usage,
} from '../../protocol/chat.js';
import type { ChatCompletionTool } from '../../protocol/openai/types.js';
import type { Provider, ProviderRequest, ProviderResponse } from '../types.js';
import { promptTokens, replyText, tokenize } from './reply.js';
import { exampleFor } from './schema-example.js';

export const BUILTIN_MODEL = 'parley-offline';

type FinishReason = 'stop' | 'length' | 'tool_calls';

interface Plan {
  /** Text tokens, or the tool call's argument fragments. */
  tokens: string[];
  finish: FinishReason;
  toolCall?: { id: string; name: string };
}

/** The tool a request forces: tool_choice naming a function, or "required" (the first function tool). */
function forcedTool(req: ChatRequest): ChatCompletionTool | undefined {
  const choice = req.tool_choice;
  const tools = (req.tools ?? []).filter((t): t is ChatCompletionTool => t.type === 'function');
  if (choice === 'required') return tools[0];
  if (choice && typeof choice === 'object' && choice.type === 'function' && 'function' in choice) {
    return tools.find((t) => t.function.name === choice.function.name);
  }
  return undefined;
}

function plan(req: ChatRequest, configured: boolean, fixedText?: string): Plan {
  const max = maxTokensOf(req);
  const tool = fixedText === undefined ? forcedTool(req) : undefined;
  if (tool) {
    const args = JSON.stringify(exampleFor(tool.function.parameters ?? { type: 'object', properties: {} }));
    // Arguments stream in fragments like a real model's; they are never cut by max_tokens,
    // because a truncated call could not be parsed and this model exists to be parsed.
    const tokens = args.match(/.{1,8}/gs) ?? ['{}'];
    return {
      tokens,
      finish: 'tool_calls',
      toolCall: { id: `call_${randomBytes(12).toString('hex')}`, name: tool.function.name },
    };
  }
  let text = fixedText ?? replyText(req, configured);
  let finish: FinishReason = 'stop';
  for (const stop of stopSequencesOf(req)) {
    const at = text.indexOf(stop);
    if (at >= 0) text = text.slice(0, at);
  }
  let tokens = tokenize(text);
  if (max !== undefined && tokens.length > max) {
    tokens = tokens.slice(0, max);
    finish = 'length';
  }
  return { tokens, finish };
}

export class BuiltinProvider implements Provider {
  readonly type = 'builtin' as const;

  constructor(
    private readonly tokenDelayMs: number,
    /** A PARLEY_CONFIG is in use: the reply points at it rather than saying nothing is configured. */
    private readonly configured = false,
    /** The provider's name: `builtin`, or the id it has under PARLEY_CONFIG's providers. */
    readonly id = 'builtin',
  ) {}

  async chat(req: ProviderRequest): Promise<ProviderResponse> {
    return this.answer(req);
  }

  /** Serves `fixedText` as an ordinary completion (the fallback reply), or the offline model's own reply. */
  answer(req: ProviderRequest, fixedText?: string): ProviderResponse {
    const r = req.request;
    const p = plan(r, this.configured, fixedText);
    const n = r.n ?? 1;
    const usage: Usage = { prompt_tokens: promptTokens(r), completion_tokens: p.tokens.length * n, total_tokens: 0 };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const id = `chatcmpl-${randomBytes(12).toString('hex')}`;
    const created = Math.floor(Date.now() / 1000);
    const model = req.upstreamModel;
    if (!req.stream) return { kind: 'json', body: JSON.stringify(completion(p, n, id, created, model, usage)), usage };
    return { kind: 'stream', events: this.chunks(p, n, id, created, model, usage, req.signal) };
  }

  private async *chunks(
    p: Plan,
    n: number,
    id: string,
    created: number,
    model: string,
    usage: Usage,
    signal: AbortSignal,
  ): AsyncGenerator<string> {
    const chunk = (choices: ChatCompletionChunk['choices']): string =>
      JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices } satisfies ChatCompletionChunk);
    const choice = (
      index: number,
      delta: ChatCompletionChunk['choices'][number]['delta'],
      finish: FinishReason | null = null,
    ) => chunk([{ index, delta, logprobs: null, finish_reason: finish }]);

    for (let i = 0; i < n; i++) {
      yield p.toolCall
        ? choice(i, {
            role: 'assistant',
            content: null,
            tool_calls: [
              { index: 0, id: p.toolCall.id, type: 'function', function: { name: p.toolCall.name, arguments: '' } },
            ],
          })
        : choice(i, { role: 'assistant', content: '' });
    }
    for (const token of p.tokens) {
      if (this.tokenDelayMs > 0) await sleep(this.tokenDelayMs, undefined, { signal });
      signal.throwIfAborted();
      // n > 1: the choices' deltas interleave, one per choice per token, as OpenAI sends them.
      for (let i = 0; i < n; i++) {
        yield p.toolCall
          ? choice(i, { tool_calls: [{ index: 0, function: { arguments: token } }] })
          : choice(i, { content: token });
      }
    }
    for (let i = 0; i < n; i++) yield choice(i, {}, p.finish);
    yield JSON.stringify({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [],
      usage,
    } satisfies ChatCompletionChunk);
    yield '[DONE]';
  }
}

function completion(p: Plan, n: number, id: string, created: number, model: string, usage: Usage): ChatCompletion {
  const text = p.tokens.join('');
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: Array.from({ length: n }, (_, index) => ({
      index,
      message: p.toolCall
        ? {
            role: 'assistant' as const,
            content: null,
            refusal: null,
            tool_calls: [
              { id: p.toolCall.id, type: 'function' as const, function: { name: p.toolCall.name, arguments: text } },
            ],
          }
        : { role: 'assistant' as const, content: text, refusal: null },
      logprobs: null,
      finish_reason: p.finish,
    })),
    usage,
  };
}
