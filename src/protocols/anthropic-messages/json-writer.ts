/**
 * A whole Messages response (`stream` absent or false) from the pipeline's JSON completion:
 * its CompletionEvents (pipeline/answer-events.ts) become content blocks in order — text, then
 * each tool call as a tool_use block — with Anthropic's stop reason and usage.
 */
import type { CompletionEvent, FinishReason, FullUsage } from '../../providers/completion-events.js';
import { countTokens } from '../../usage/tokens.js';
import { type AnthropicUsage, anthropicUsage, type StopReason, stopReason, toolInput, toolUseId } from './wire.js';

type Block =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

export interface AnthropicMessageBody {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: Block[];
  stop_reason: StopReason;
  stop_sequence: null;
  usage: AnthropicUsage;
}

export interface MessageMeta {
  id: string;
  /** The model name the client asked for (Anthropic echoes it). */
  model: string;
  /** Prompt tokens estimated from the translated request, used when the upstream reports none. */
  estimatedInputTokens: number;
}

export function renderMessage(events: Iterable<CompletionEvent>, meta: MessageMeta): AnthropicMessageBody {
  const content: Block[] = [];
  const calls = new Map<string | number, { block: Extract<Block, { type: 'tool_use' }>; args: string }>();
  let finish: FinishReason | null = null;
  let usage: FullUsage | null = null;
  for (const e of events) {
    switch (e.type) {
      case 'text': {
        const last = content.at(-1);
        if (last?.type === 'text') last.text += e.text;
        else content.push({ type: 'text', text: e.text });
        break;
      }
      case 'tool_start': {
        const block = { type: 'tool_use' as const, id: toolUseId(e.id), name: e.name, input: {} };
        content.push(block);
        calls.set(e.key, { block, args: '' });
        break;
      }
      case 'tool_args': {
        const c = calls.get(e.key);
        if (c) c.args += e.delta;
        break;
      }
      case 'finish':
        finish = e.reason;
        break;
      case 'usage':
        usage = e.usage;
        break;
    }
  }
  for (const c of calls.values()) c.block.input = toolInput(c.args);
  return {
    id: meta.id,
    type: 'message',
    role: 'assistant',
    model: meta.model,
    content,
    stop_reason: stopReason(finish, calls.size > 0),
    stop_sequence: null,
    usage: usage ? anthropicUsage(usage) : estimatedUsage(content, meta.estimatedInputTokens),
  };
}

/** Usage when the upstream reported none: the estimated prompt, and the output counted. */
function estimatedUsage(content: Block[], input: number): AnthropicUsage {
  let output = 0;
  for (const b of content) output += countTokens(b.type === 'text' ? b.text : JSON.stringify(b.input));
  return { input_tokens: input, output_tokens: output };
}
