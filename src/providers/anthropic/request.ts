/**
 * An OpenAI Chat Completions request as an Anthropic Messages request body. What the Messages
 * API insists on, and other gateways got wrong (see docs/providers.md § Anthropic):
 *
 * - no `system` role: system and developer messages, wherever they stand, become the
 *   top-level `system` text blocks, in order;
 * - turns alternate user/assistant and the first is the user's: consecutive same-role turns are
 *   merged, and a conversation that starts with the assistant (Vapi's greeting) gets a one-dot
 *   user turn before it;
 * - no empty (or blank) text blocks: an assistant message with `content: ""` and tool calls
 *   becomes tool_use blocks only;
 * - every tool result answers the previous assistant turn in ONE user turn, tool_result blocks
 *   first (Portkey#980 sent one user turn per result);
 * - `max_tokens` is required: max_completion_tokens ?? max_tokens, else ./max-tokens.ts.
 *
 * A request Anthropic cannot carry (n > 1, an audio part, a custom tool) is a 400 naming the
 * parameter; OpenAI parameters Anthropic has no equivalent for are left out (documented).
 */
import { type ChatRequest, maxTokensOf, stopSequencesOf } from '../../protocol/chat.js';
import { errors } from '../../protocol/errors.js';
import { defaultMaxTokens } from './max-tokens.js';

type Block = Record<string, unknown>;
type Part = Record<string, unknown>;

interface Turn {
  role: 'user' | 'assistant';
  content: Block[];
}

export interface MappingOptions {
  /** The provider id, for error messages. */
  provider: string;
  /** The upstream model name. */
  model: string;
  stream: boolean;
  /** The provider's configured default for max_tokens (overrides the family table). */
  defaultMaxTokens?: number;
}

/** The user turn put before a conversation that starts with the assistant: Anthropic wants the user first. */
export const LEADING_USER_TEXT = '.';

/** What json_object asks for, as a system block (Anthropic's structured output needs a schema). */
export const JSON_OBJECT_INSTRUCTION =
  'Respond with a single JSON object and nothing else: no text, code fences or explanation around it.';

/** Anthropic's image types; `image/jpg` is a common misspelling of the first. */
const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

export function messagesBody(req: ChatRequest, o: MappingOptions): Record<string, unknown> {
  const unsupported = (param: string, what: string) => errors.unsupportedByProvider(o.provider, param, what);
  if (typeof req.n === 'number' && req.n > 1)
    throw unsupported('n', `n is ${req.n}: Anthropic writes one choice per request`);
  if (req.functions !== undefined || req.function_call !== undefined) {
    throw unsupported(
      req.functions !== undefined ? 'functions' : 'function_call',
      'the deprecated `functions` interface is used (send `tools` and `tool_choice` instead)',
    );
  }

  const system: Block[] = [];
  const turns: Turn[] = [];
  const push = (role: Turn['role'], content: Block[]) => {
    if (content.length === 0) return;
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(...content);
    else turns.push({ role, content });
  };

  req.messages.forEach((raw, i) => {
    const m = raw as unknown as Record<string, unknown>;
    const at = `messages.[${i}]`;
    switch (m.role) {
      case 'system':
      case 'developer':
        system.push(...textBlocks(m.content));
        break;
      case 'user':
        push('user', userBlocks(m.content, at, unsupported));
        break;
      case 'assistant':
        push('assistant', [...textBlocks(m.content), ...toolUseBlocks(m.tool_calls, at, unsupported)]);
        break;
      case 'tool':
        push('user', [toolResult(m)]);
        break;
      default:
        throw unsupported(`${at}.role`, `the message has role "${String(m.role)}"`);
    }
  });
  // Results answer the previous assistant turn: they must open the user turn they are in.
  for (const t of turns) {
    if (t.role === 'user') t.content.sort((a, b) => rank(a) - rank(b));
  }
  if (turns[0]?.role !== 'user') turns.unshift({ role: 'user', content: [text(LEADING_USER_TEXT)] });
  // A last assistant turn is a prefill, which Anthropic refuses to end with whitespace.
  const last = turns.at(-1)!;
  const tail = last.content.at(-1);
  if (last.role === 'assistant' && tail?.type === 'text') tail.text = (tail.text as string).trimEnd();

  const body: Record<string, unknown> = {
    model: o.model,
    max_tokens: maxTokensOf(req) ?? o.defaultMaxTokens ?? defaultMaxTokens(o.model),
    messages: turns,
  };
  const format = req.response_format;
  if (format?.type === 'json_object') system.push(text(JSON_OBJECT_INSTRUCTION));
  if (format?.type === 'json_schema') {
    // Anthropic's structured outputs: the answer is constrained to the schema, as at OpenAI.
    body.output_config = { format: { type: 'json_schema', schema: format.json_schema.schema ?? { type: 'object' } } };
  }
  if (system.length > 0) body.system = system;
  // Anthropic refuses a stop sequence that is only whitespace ("\n"): such ones are left out.
  const stop = stopSequencesOf(req).filter((x) => x.trim() !== '');
  if (stop.length > 0) body.stop_sequences = stop;
  // OpenAI's range is 0–2, Anthropic's 0–1: above 1 is clamped (a request valid at OpenAI keeps working).
  if (typeof req.temperature === 'number') body.temperature = Math.min(req.temperature, 1);
  if (typeof req.top_p === 'number') body.top_p = req.top_p;
  const user = req.safety_identifier ?? req.user;
  if (typeof user === 'string' && user !== '') body.metadata = { user_id: user };
  Object.assign(body, toolFields(req, unsupported));
  if (o.stream) body.stream = true;
  return body;
}

type Unsupported = (param: string, what: string) => Error;

const text = (t: string): Block => ({ type: 'text', text: t });

/** Text content (a string or text/refusal parts) as non-blank text blocks. */
function textBlocks(content: unknown): Block[] {
  if (typeof content === 'string') return content.trim() === '' ? [] : [text(content)];
  if (!Array.isArray(content)) return [];
  const out: Block[] = [];
  for (const p of content as Part[]) {
    const t = p.type === 'refusal' ? p.refusal : p.text;
    if (typeof t === 'string' && t.trim() !== '') out.push(text(t));
  }
  return out;
}

function userBlocks(content: unknown, at: string, unsupported: Unsupported): Block[] {
  if (!Array.isArray(content)) return textBlocks(content);
  const out: Block[] = [];
  (content as Part[]).forEach((p, j) => {
    const param = `${at}.content.[${j}]`;
    switch (p.type) {
      case 'text':
        out.push(...textBlocks([p]));
        break;
      case 'image_url':
        out.push(imageBlock((p.image_url as { url: string }).url, `${param}.image_url.url`, unsupported));
        break;
      case 'file':
        out.push(documentBlock(p.file as { file_data?: string }, `${param}.file`, unsupported));
        break;
      default:
        throw unsupported(`${param}.type`, `the content part has type "${String(p.type)}"`);
    }
  });
  return out;
}

/** A data URL's media type and base64 data; null when it is not a base64 data URL. */
function dataUrl(url: string): { mediaType: string; data: string } | null {
  const m = /^data:([^;,]+)((?:;[^;,]*)*);base64,/i.exec(url);
  if (!m) return null;
  return { mediaType: m[1]!.trim().toLowerCase(), data: url.slice(m[0].length) };
}

function imageBlock(url: string, param: string, unsupported: Unsupported): Block {
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  const d = dataUrl(url);
  if (!d) throw unsupported(param, 'the image is neither an http(s) URL nor a base64 data URL');
  const mediaType = d.mediaType === 'image/jpg' ? 'image/jpeg' : d.mediaType;
  if (!IMAGE_TYPES.has(mediaType))
    throw unsupported(
      param,
      `the image is ${mediaType} (Anthropic takes image/jpeg, image/png, image/gif, image/webp)`,
    );
  return { type: 'image', source: { type: 'base64', media_type: mediaType, data: d.data } };
}

/** A PDF sent as an OpenAI file part (base64 data URL) becomes Anthropic's document block. */
function documentBlock(file: { file_data?: string }, param: string, unsupported: Unsupported): Block {
  const d = typeof file.file_data === 'string' ? dataUrl(file.file_data) : null;
  if (d?.mediaType !== 'application/pdf')
    throw unsupported(param, 'the file is not a PDF given as file_data (a base64 data URL)');
  return { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: d.data } };
}

function toolUseBlocks(calls: unknown, at: string, unsupported: Unsupported): Block[] {
  if (!Array.isArray(calls)) return [];
  return (calls as Part[]).map((c, j) => {
    const param = `${at}.tool_calls.[${j}]`;
    if (c.type !== 'function') throw unsupported(`${param}.type`, `the tool call has type "${String(c.type)}"`);
    const f = c.function as { name: string; arguments: string };
    let input: unknown = {};
    if (f.arguments.trim() !== '') {
      try {
        input = JSON.parse(f.arguments);
      } catch {
        input = undefined;
      }
    }
    if (input === null || typeof input !== 'object' || Array.isArray(input))
      throw unsupported(`${param}.function.arguments`, 'the arguments are not a JSON object');
    return { type: 'tool_use', id: c.id, name: f.name, input };
  });
}

function toolResult(m: Record<string, unknown>): Block {
  const block: Block = { type: 'tool_result', tool_use_id: m.tool_call_id };
  if (typeof m.content === 'string') {
    if (m.content !== '') block.content = m.content;
  } else {
    const blocks = textBlocks(m.content);
    if (blocks.length > 0) block.content = blocks;
  }
  return block;
}

const rank = (b: Block) => (b.type === 'tool_result' ? 0 : 1);

/** `tools` and `tool_choice` (with parallel_tool_calls) in Anthropic's shape; nothing without tools. */
function toolFields(req: ChatRequest, unsupported: Unsupported): Record<string, unknown> {
  const tools = (req.tools ?? []) as unknown as Part[];
  if (tools.length === 0) return {};
  const defs = tools.map((t, i) => {
    if (t.type !== 'function') throw unsupported(`tools.[${i}].type`, `the tool has type "${String(t.type)}"`);
    const f = t.function as {
      name: string;
      description?: string;
      parameters?: Record<string, unknown>;
      strict?: boolean;
    };
    const schema = f.parameters ?? { type: 'object', properties: {} };
    const def: Block = { name: f.name, input_schema: 'type' in schema ? schema : { type: 'object', ...schema } };
    if (f.description) def.description = f.description;
    if (f.strict === true) def.strict = true;
    return def;
  });
  let choice: Block | undefined;
  let offered = defs;
  const c = req.tool_choice as unknown;
  if (c === 'none') choice = { type: 'none' };
  else if (c === 'auto') choice = { type: 'auto' };
  else if (c === 'required') choice = { type: 'any' };
  else if (c && typeof c === 'object') {
    const named = c as { type: string; function?: { name: string }; allowed_tools?: { mode: string; tools: Part[] } };
    if (named.type === 'function') choice = { type: 'tool', name: named.function!.name };
    else if (named.type === 'allowed_tools') {
      // Anthropic has no allowed-list: the tools outside it are not offered.
      const names = new Set(named.allowed_tools!.tools.map((t) => (t.function as { name?: string } | undefined)?.name));
      offered = defs.filter((d) => names.has(d.name as string));
      choice = { type: named.allowed_tools!.mode === 'required' ? 'any' : 'auto' };
    } else throw unsupported('tool_choice', `tool_choice has type "${named.type}"`);
  }
  if (req.parallel_tool_calls === false && choice?.type !== 'none')
    choice = { ...(choice ?? { type: 'auto' }), disable_parallel_tool_use: true };
  return choice ? { tools: offered, tool_choice: choice } : { tools: offered };
}
