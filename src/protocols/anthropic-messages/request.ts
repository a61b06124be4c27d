/**
 * A Messages request as the canonical ChatRequest (Chat Completions is the pivot): the
 * pipeline then routes it to any upstream family. The mapping, and why:
 *
 * - `system` (a string or text blocks) → one system message first, blocks joined by a blank line.
 * - A user turn's `tool_result` blocks → one `tool` message each, in order, BEFORE the turn's
 *   text and images (Chat requires tool answers right after the assistant's tool_calls). A
 *   result's text blocks are joined; `is_error: true` prefixes "Error: " (Chat has no flag for
 *   it, and the model must know the call failed); a result's images go to the user message
 *   that follows the tool messages (a tool message carries text only).
 * - An assistant turn's `tool_use` blocks → `tool_calls` (input serialised as arguments), its
 *   text → content. `thinking` / `redacted_thinking` blocks are dropped: a Chat upstream cannot
 *   take them back (the Anthropic passthrough keeps them, signatures included).
 * - Images → `image_url` parts: base64 sources as data URLs, URL sources as they are.
 * - `stop_sequences` → `stop`; `metadata.user_id` → `user`; `max_tokens` → `max_tokens`, or
 *   `max_completion_tokens` when a reasoning effort is sent (OpenAI's reasoning models refuse
 *   `max_tokens`).
 * - `tool_choice`: auto → "auto", any → "required", tool → that function, none → "none";
 *   `disable_parallel_tool_use: true` → `parallel_tool_calls: false`.
 * - `thinking` / `output_config.effort` → `reasoning_effort`, only when the caller says the
 *   upstream has it (`reasoning`): Chat upstreams without reasoning refuse the parameter, and
 *   a Claude Code request carries `thinking` whatever model it is routed to. A budget below
 *   4,096 tokens is "low", below 16,384 "medium", else "high"; `adaptive` leaves the
 *   upstream's default; `disabled` sends nothing.
 * - `top_k` is dropped: Chat Completions has no such parameter and OpenAI refuses it.
 * - `service_tier`, `cache_control`, `citations` and unknown beta fields are accepted and ignored.
 * - Anthropic's server tools (`web_search_…`, `bash_…`, …) are refused with a 400 naming them:
 *   only Anthropic can run them, and dropping one silently would change what the model can do.
 */
import type { ChatRequest } from '../../protocol/chat.js';
import { errors } from '../../protocol/errors.js';
import type { AnthropicBlock, AnthropicMessage, AnthropicTool, CountTokensRequest, MessagesRequest } from './schema.js';

type ChatMessage = Record<string, unknown>;
type Part = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

export interface TranslateOptions {
  /** The routed upstream accepts `reasoning_effort` (see reasoningCapable in routes/messages.ts). */
  reasoning: boolean;
  /**
   * Every routed target takes the Messages body itself (passthrough.ts): server tools reach
   * Anthropic there, so they are left out of this translation instead of refused.
   */
  serverToolsPassThrough?: boolean;
}

/** The Chat Completions request this Messages request means. Throws a 400 for a tool Parley cannot carry. */
export function toChatRequest(req: MessagesRequest, opts: TranslateOptions): ChatRequest {
  const out: Record<string, unknown> = { model: req.model, messages: chatMessages(req) };
  const effort = opts.reasoning ? reasoningEffort(req) : undefined;
  if (effort) {
    out.reasoning_effort = effort;
    out.max_completion_tokens = req.max_tokens;
  } else {
    out.max_tokens = req.max_tokens;
  }
  if (req.stream === true) out.stream = true;
  if (req.temperature !== undefined) out.temperature = req.temperature;
  if (req.top_p !== undefined) out.top_p = req.top_p;
  if (req.stop_sequences?.length) out.stop = req.stop_sequences;
  if (typeof req.metadata?.user_id === 'string') out.user = req.metadata.user_id;
  Object.assign(out, toolFields(req, opts.serverToolsPassThrough === true));
  return out as ChatRequest;
}

/** The prompt part only (count_tokens): messages and tools, as the pipeline would send them. */
export function toChatPrompt(req: CountTokensRequest): Pick<ChatRequest, 'messages' | 'tools'> {
  const tools = toolFields(req).tools;
  return { messages: chatMessages(req) as unknown as ChatRequest['messages'], ...(tools ? { tools } : {}) };
}

function chatMessages(req: Pick<MessagesRequest, 'system' | 'messages'>): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (req.system !== undefined) {
    const text = typeof req.system === 'string' ? req.system : req.system.map((b) => b.text).join('\n\n');
    if (text !== '') out.push({ role: 'system', content: text });
  }
  for (const m of req.messages) {
    if (m.role === 'assistant') out.push(assistantMessage(m));
    else out.push(...userMessages(m));
  }
  return out;
}

function assistantMessage(m: AnthropicMessage): ChatMessage {
  if (typeof m.content === 'string') return { role: 'assistant', content: m.content };
  let text = '';
  const calls: unknown[] = [];
  for (const b of m.content) {
    if (b.type === 'text') text += b.text;
    else if (b.type === 'tool_use')
      calls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input) } });
    // thinking / redacted_thinking: dropped (see the header); images and tool results have no
    // place in an assistant turn of Chat Completions either.
  }
  const msg: ChatMessage = { role: 'assistant', content: text === '' && calls.length > 0 ? null : text };
  if (calls.length > 0) msg.tool_calls = calls;
  return msg;
}

function userMessages(m: AnthropicMessage): ChatMessage[] {
  if (typeof m.content === 'string') return [{ role: 'user', content: m.content }];
  const tools: ChatMessage[] = [];
  const parts: Part[] = [];
  for (const b of m.content) {
    if (b.type === 'tool_result') {
      const { text, images } = toolResultContent(b);
      tools.push({ role: 'tool', tool_call_id: b.tool_use_id, content: b.is_error ? `Error: ${text}` : text });
      parts.push(...images);
    } else if (b.type === 'text') parts.push({ type: 'text', text: b.text });
    else if (b.type === 'image') parts.push(imagePart(b));
  }
  if (parts.length === 0) return tools;
  // Text alone stays a string: every Chat upstream takes that, not all take parts.
  const content = parts.every((p) => p.type === 'text') ? parts.map((p) => p.text).join('\n\n') : parts;
  return [...tools, { role: 'user', content }];
}

function toolResultContent(b: Extract<AnthropicBlock, { type: 'tool_result' }>): { text: string; images: Part[] } {
  if (b.content === undefined) return { text: '', images: [] };
  if (typeof b.content === 'string') return { text: b.content, images: [] };
  const texts: string[] = [];
  const images: Part[] = [];
  for (const c of b.content) {
    if (c.type === 'text') texts.push(c.text);
    else images.push(imagePart(c));
  }
  return { text: texts.join('\n\n'), images };
}

function imagePart(b: Extract<AnthropicBlock, { type: 'image' }>): Part {
  const s = b.source;
  const url = s.type === 'base64' ? `data:${s.media_type};base64,${s.data}` : s.url;
  return { type: 'image_url', image_url: { url } };
}

function toolFields(
  req: Pick<MessagesRequest, 'tools' | 'tool_choice'>,
  skipServerTools = false,
): Partial<ChatRequest> {
  const out: Record<string, unknown> = {};
  const tools = skipServerTools ? req.tools?.filter((t) => !isServerTool(t)) : req.tools;
  if (tools && tools.length > 0) out.tools = tools.map(chatTool);
  const choice = req.tool_choice;
  if (choice) {
    if (choice.type === 'auto') out.tool_choice = 'auto';
    else if (choice.type === 'any') out.tool_choice = 'required';
    else if (choice.type === 'none') out.tool_choice = 'none';
    else out.tool_choice = { type: 'function', function: { name: choice.name } };
    // Chat refuses parallel_tool_calls without tools.
    if ('disable_parallel_tool_use' in choice && choice.disable_parallel_tool_use === true && out.tools)
      out.parallel_tool_calls = false;
  }
  return out as Partial<ChatRequest>;
}

const isServerTool = (t: AnthropicTool) => t.type !== undefined && t.type !== 'custom';

function chatTool(t: AnthropicTool, i: number): unknown {
  if (isServerTool(t)) {
    throw errors.invalidParameter(
      `tools.${i}: the server tool '${t.type}' ("${t.name}") runs only on Anthropic's own servers, which Parley does not ` +
        'reach for this request; remove it, or offer it as a custom tool with an input_schema that your client runs.',
      'unsupported_tool',
      `tools.[${i}].type`,
    );
  }
  return {
    type: 'function',
    function: {
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      parameters: t.input_schema ?? { type: 'object', properties: {} },
    },
  };
}

/** `thinking` (or `output_config.effort`) as a Chat reasoning effort, or nothing. */
export function reasoningEffort(req: Pick<MessagesRequest, 'thinking' | 'output_config'>): string | undefined {
  const effort = req.output_config?.effort;
  if (effort === 'low' || effort === 'medium' || effort === 'high') return effort;
  if (effort === 'max') return 'high';
  const t = req.thinking;
  if (t?.type !== 'enabled') return undefined;
  if (t.budget_tokens < 4096) return 'low';
  if (t.budget_tokens < 16384) return 'medium';
  return 'high';
}
