/**
 * A local Anthropic Messages API for tests (POST /v1/messages). It speaks the exact wire format —
 * a Message as JSON, or the SSE stream with `event:` lines, pings, message_start usage, cumulative
 * message_delta usage, partial_json fragments starting with "" — and REFUSES malformed requests
 * the way the real API does (400 invalid_request_error in Anthropic's envelope): no max_tokens,
 * turns not alternating, first turn not the user's, a `system` role among messages, empty or blank
 * text blocks, tool results that do not answer the previous assistant turn's tool_use ids or do
 * not come first, unknown fields; 401 without x-api-key; 400 without anthropic-version.
 * Every request is kept (headers and body) so tests can assert on what Parley sent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AnthropicReceived {
  url: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

export type MockBlock =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string }
  | { type: 'redacted_thinking' }
  | { type: 'tool_use'; id?: string; name: string; input: Record<string, unknown> };

export interface MockUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

export type AnthropicScenario =
  /** A whole answer: the Message (JSON) or its events (stream). */
  | { kind: 'message'; content: MockBlock[]; stopReason?: string; stopSequence?: string; usage?: MockUsage }
  /** An HTTP error in Anthropic's envelope, before any byte of the answer. */
  | { kind: 'http-error'; status: number; type: string; message?: string; headers?: Record<string, string> }
  /** Status 200, then after `afterEvents` events of the default answer, `event: error` and the end. */
  | { kind: 'stream-error'; afterEvents: number; type: string; message?: string }
  /** Status 200, then after `afterEvents` events the connection is cut (no message_stop). */
  | { kind: 'cut'; afterEvents: number }
  /** Never answers. */
  | { kind: 'hang' };

/** What GET /v1/models lists: id, display name, creation time. */
export const MODELS: [string, string, string][] = [
  ['claude-sonnet-4-5-20250929', 'Claude Sonnet 4.5', '2025-09-29T00:00:00Z'],
  ['claude-haiku-4-5-20251001', 'Claude Haiku 4.5', '2025-10-01T00:00:00Z'],
];

export const DEFAULT_TEXT = 'Hello from Claude.';
export const DEFAULT_USAGE: MockUsage = {
  input_tokens: 12,
  output_tokens: 6,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
};

export interface MockAnthropic {
  /** The API root, as ANTHROPIC_BASE_URL takes it (no /v1). */
  url: string;
  received: AnthropicReceived[];
  /** Scenario per model name; `*` is the default. */
  scenarios: Map<string, AnthropicScenario>;
  /** The x-api-key it accepts (any non-empty one when unset). */
  apiKey?: string;
  close(): Promise<void>;
}

const TOP_LEVEL = new Set([
  'model',
  'messages',
  'max_tokens',
  'system',
  'metadata',
  'stop_sequences',
  'stream',
  'temperature',
  'top_p',
  'top_k',
  'tools',
  'tool_choice',
  'thinking',
  'service_tier',
  'output_config',
  'container',
  'mcp_servers',
  'context_management',
  'inference_geo',
]);
const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];

class Refusal extends Error {}
function refuse(message: string): never {
  throw new Refusal(message);
}

/** The first thing the real API would refuse in `body`, as its message; null when it is well-formed. */
export function requestProblem(body: Record<string, unknown>): string | null {
  try {
    check(body);
    return null;
  } catch (err) {
    if (err instanceof Refusal) return err.message;
    throw err;
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function check(body: Obj): void {
  for (const k of Object.keys(body)) if (!TOP_LEVEL.has(k)) refuse(`${k}: Extra inputs are not permitted`);
  if (typeof body.model !== 'string' || body.model === '') refuse('model: Field required');
  if (body.max_tokens === undefined) refuse('max_tokens: Field required');
  if (!Number.isInteger(body.max_tokens) || (body.max_tokens as number) < 1)
    refuse('max_tokens: Input should be a valid integer greater than or equal to 1');
  if (body.stream !== undefined && typeof body.stream !== 'boolean') refuse('stream: Input should be a valid boolean');
  if (body.temperature !== undefined) {
    const t = body.temperature as number;
    if (typeof t !== 'number' || t < 0 || t > 1) refuse('temperature: Input should be less than or equal to 1');
  }
  if (body.top_p !== undefined && (typeof body.top_p !== 'number' || body.top_p < 0 || body.top_p > 1))
    refuse('top_p: Input should be less than or equal to 1');
  if (body.stop_sequences !== undefined) {
    if (!Array.isArray(body.stop_sequences) || body.stop_sequences.some((s) => typeof s !== 'string' || s === ''))
      refuse('stop_sequences: Input should be a valid list of non-empty strings');
    if ((body.stop_sequences as string[]).some((s) => s.trim() === ''))
      refuse('stop_sequences: each stop sequence must contain non-whitespace characters');
  }
  if (body.metadata !== undefined) {
    if (!isObj(body.metadata)) refuse('metadata: Input should be a valid dictionary');
    for (const k of Object.keys(body.metadata as Obj))
      if (k !== 'user_id') refuse(`metadata.${k}: Extra inputs are not permitted`);
  }
  checkSystem(body.system);
  const tools = checkTools(body.tools);
  checkToolChoice(body.tool_choice, tools);
  if (body.output_config !== undefined) {
    const f = (body.output_config as Obj | undefined)?.format as Obj | undefined;
    if (!isObj(body.output_config) || !isObj(f) || f.type !== 'json_schema' || !isObj(f.schema))
      refuse('output_config.format: expected {"type": "json_schema", "schema": {...}}');
  }
  checkMessages(body.messages);
}

function checkSystem(system: unknown): void {
  if (system === undefined || typeof system === 'string') return;
  if (!Array.isArray(system)) refuse('system: Input should be a valid string or list of text blocks');
  (system as unknown[]).forEach((b, i) => {
    if (!isObj(b) || b.type !== 'text') refuse(`system.${i}.type: Input should be 'text'`);
    checkText(b as Obj, `system.${i}`);
  });
}

function checkText(b: Obj, at: string): void {
  for (const k of Object.keys(b))
    if (!['type', 'text', 'cache_control', 'citations'].includes(k))
      refuse(`${at}.${k}: Extra inputs are not permitted`);
  if (typeof b.text !== 'string') refuse(`${at}.text: Field required`);
  if (b.text === '') refuse(`${at}: text content blocks must be non-empty`);
  if ((b.text as string).trim() === '') refuse(`${at}: text content blocks must contain non-whitespace text`);
}

function checkTools(tools: unknown): Set<string> {
  const names = new Set<string>();
  if (tools === undefined) return names;
  if (!Array.isArray(tools)) refuse('tools: Input should be a valid list');
  (tools as unknown[]).forEach((t, i) => {
    if (!isObj(t)) refuse(`tools.${i}: Input should be a valid dictionary`);
    for (const k of Object.keys(t))
      if (!['name', 'description', 'input_schema', 'strict', 'cache_control', 'type'].includes(k))
        refuse(`tools.${i}.${k}: Extra inputs are not permitted`);
    if (typeof t.name !== 'string' || !/^[a-zA-Z0-9_-]{1,128}$/.test(t.name))
      refuse(`tools.${i}.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`);
    if (!isObj(t.input_schema) || t.input_schema.type !== 'object')
      refuse(`tools.${i}.input_schema.type: Input should be 'object'`);
    names.add(t.name as string);
  });
  return names;
}

function checkToolChoice(choice: unknown, tools: Set<string>): void {
  if (choice === undefined) return;
  if (!isObj(choice)) refuse('tool_choice: Input should be a valid dictionary');
  const allowed: Record<string, string[]> = {
    auto: ['type', 'disable_parallel_tool_use'],
    any: ['type', 'disable_parallel_tool_use'],
    tool: ['type', 'name', 'disable_parallel_tool_use'],
    none: ['type'],
  };
  const keys = allowed[choice.type as string];
  if (!keys) refuse("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'");
  for (const k of Object.keys(choice))
    if (!keys.includes(k)) refuse(`tool_choice.${k}: Extra inputs are not permitted`);
  if (choice.type !== 'none' && tools.size === 0) refuse('tool_choice may only be specified while providing tools.');
  if (choice.type === 'tool' && !tools.has(choice.name as string))
    refuse(`tool_choice.name: no tool named ${String(choice.name)} was provided`);
}

function checkMessages(messages: unknown): void {
  if (!Array.isArray(messages) || messages.length === 0) refuse('messages: at least one message is required');
  const list = messages as unknown[];
  let previousToolUses: string[] = [];
  list.forEach((m, i) => {
    const at = `messages.${i}`;
    if (!isObj(m)) refuse(`${at}: Input should be a valid dictionary`);
    for (const k of Object.keys(m))
      if (k !== 'role' && k !== 'content') refuse(`${at}.${k}: Extra inputs are not permitted`);
    if (m.role !== 'user' && m.role !== 'assistant') refuse(`${at}.role: Input should be 'user' or 'assistant'`);
    if (i === 0 && m.role !== 'user') refuse('messages: first message must use the "user" role');
    if (i > 0 && (list[i - 1] as Obj).role === m.role)
      refuse(
        `messages: roles must alternate between "user" and "assistant", but found multiple "${m.role}" roles in a row`,
      );
    const blocks: Obj[] =
      typeof m.content === 'string'
        ? [{ type: 'text', text: m.content }]
        : Array.isArray(m.content)
          ? (m.content as Obj[])
          : refuse(`${at}.content: Input should be a valid string or list`);
    const last = i === list.length - 1;
    if (blocks.length === 0 && !(last && m.role === 'assistant'))
      refuse(`${at}: all messages must have non-empty content except for the optional final assistant message`);
    const toolUses: string[] = [];
    const results: string[] = [];
    let sawOther = false;
    blocks.forEach((b, j) => {
      const bat = `${at}.content.${j}`;
      if (!isObj(b)) refuse(`${bat}: Input should be a valid dictionary`);
      switch (b.type) {
        case 'text':
          checkText(b, bat);
          sawOther = true;
          break;
        case 'image':
          if (m.role !== 'user') refuse(`${bat}: images are only allowed in user messages`);
          checkImage(b.source, `${bat}.source`);
          sawOther = true;
          break;
        case 'document': {
          const s = b.source as Obj | undefined;
          if (!isObj(s) || s.type !== 'base64' || s.media_type !== 'application/pdf' || typeof s.data !== 'string')
            refuse(`${bat}.source: expected a base64 application/pdf source`);
          sawOther = true;
          break;
        }
        case 'tool_use':
          if (m.role !== 'assistant') refuse(`${bat}: tool_use blocks are only allowed in assistant messages`);
          if (typeof b.id !== 'string' || typeof b.name !== 'string') refuse(`${bat}: tool_use needs id and name`);
          if (!isObj(b.input)) refuse(`${bat}.input: Input should be a valid dictionary`);
          toolUses.push(b.id as string);
          break;
        case 'tool_result':
          if (m.role !== 'user') refuse(`${bat}: tool_result blocks are only allowed in user messages`);
          if (sawOther)
            refuse(
              `${at}: tool_result blocks must come first in the user message, before any other content (found one at index ${j})`,
            );
          if (!previousToolUses.includes(b.tool_use_id as string))
            refuse(
              `${bat}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(b.tool_use_id)}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`,
            );
          if (b.content !== undefined && typeof b.content !== 'string') {
            if (!Array.isArray(b.content)) refuse(`${bat}.content: Input should be a valid string or list`);
            for (const [k, c] of (b.content as Obj[]).entries()) checkText(c, `${bat}.content.${k}`);
          }
          results.push(b.tool_use_id as string);
          break;
        case 'thinking':
        case 'redacted_thinking':
          break;
        default:
          refuse(
            `${bat}.type: Input tag '${String(b.type)}' found using 'type' does not match any of the expected tags`,
          );
      }
    });
    if (previousToolUses.length > 0) {
      const missing = previousToolUses.filter((id) => !results.includes(id));
      if (missing.length > 0)
        refuse(
          `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`,
        );
    }
    if (last && m.role === 'assistant') {
      const tail = blocks.at(-1);
      if (tail?.type === 'text' && /\s$/.test(tail.text as string))
        refuse('messages: final assistant content cannot end with trailing whitespace');
    }
    previousToolUses = toolUses;
  });
}

function checkImage(source: unknown, at: string): void {
  if (!isObj(source)) refuse(`${at}: Field required`);
  if (source.type === 'base64') {
    if (!IMAGE_TYPES.includes(source.media_type as string))
      refuse(`${at}.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`);
    if (typeof source.data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(source.data))
      refuse(`${at}.data: invalid base64 data`);
  } else if (source.type === 'url') {
    if (typeof source.url !== 'string' || !/^https?:\/\//.test(source.url)) refuse(`${at}.url: invalid URL`);
  } else refuse(`${at}.type: Input should be 'base64' or 'url'`);
}

const envelope = (type: string, message: string) =>
  JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_mock0123456789' });

export async function startMockAnthropic(): Promise<MockAnthropic> {
  const received: AnthropicReceived[] = [];
  const scenarios = new Map<string, AnthropicScenario>();
  const sockets = new Set<import('node:net').Socket>();
  const mock: MockAnthropic = {
    url: '',
    received,
    scenarios,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server: Server = createServer(async (req, res) => {
    let raw = '';
    for await (const c of req) raw += c;
    const json = (status: number, body: string, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': 'req_mock', ...headers }).end(body);
    if (req.method === 'GET' && req.url?.split('?')[0] === '/v1/models') {
      if (!req.headers['x-api-key']) return json(401, envelope('authentication_error', 'x-api-key header is required'));
      return json(
        200,
        JSON.stringify({
          data: MODELS.map(([id, name, created_at]) => ({ type: 'model', id, display_name: name, created_at })),
          has_more: false,
          first_id: MODELS[0]![0],
          last_id: MODELS.at(-1)![0],
        }),
      );
    }
    const countTokens = req.url?.split('?')[0] === '/v1/messages/count_tokens';
    if (req.method !== 'POST' || (req.url?.split('?')[0] !== '/v1/messages' && !countTokens))
      return json(404, envelope('not_found_error', `Not found: ${req.method} ${req.url}`));
    let body: Obj;
    try {
      body = JSON.parse(raw);
      if (!isObj(body)) throw new Error('not an object');
    } catch {
      received.push({ url: req.url ?? '', headers: req.headers, body: {} });
      return json(400, envelope('invalid_request_error', 'The request body is not valid JSON.'));
    }
    received.push({ url: req.url ?? '', headers: req.headers, body });
    const key = req.headers['x-api-key'];
    if (typeof key !== 'string' || key === '')
      return json(401, envelope('authentication_error', 'x-api-key header is required'));
    if (mock.apiKey !== undefined && key !== mock.apiKey)
      return json(401, envelope('authentication_error', 'invalid x-api-key'));
    if (!req.headers['anthropic-version'])
      return json(400, envelope('invalid_request_error', 'anthropic-version: header is required'));
    // count_tokens takes a Messages body without max_tokens (and no stream).
    const problem = requestProblem(countTokens ? { max_tokens: 1, ...body } : body);
    if (problem) return json(400, envelope('invalid_request_error', problem));
    if (countTokens) return json(200, JSON.stringify({ input_tokens: raw.length >> 2 }));

    const scenario = scenarios.get(String(body.model)) ??
      scenarios.get('*') ?? { kind: 'message', content: [{ type: 'text', text: DEFAULT_TEXT }] };
    if (scenario.kind === 'hang') return;
    if (scenario.kind === 'http-error')
      return json(
        scenario.status,
        envelope(scenario.type, scenario.message ?? `mock ${scenario.type}`),
        scenario.headers,
      );
    const message: Extract<AnthropicScenario, { kind: 'message' }> =
      scenario.kind === 'message' ? scenario : { kind: 'message', content: [{ type: 'text', text: DEFAULT_TEXT }] };
    if (body.stream === true) return stream(res, String(body.model), message, scenario);
    json(200, JSON.stringify(wholeMessage(String(body.model), message)));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  mock.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return mock;
}

let counter = 0;
const toolId = () => `toolu_01Mock${String(++counter).padStart(6, '0')}`;
const MESSAGE_ID = 'msg_01MockMessage0000000001';

function blocksOf(content: MockBlock[]): Obj[] {
  return content.map((b) => {
    if (b.type === 'thinking') return { type: 'thinking', thinking: b.thinking, signature: 'EqMockSignature==' };
    if (b.type === 'redacted_thinking') return { type: 'redacted_thinking', data: 'EmMockRedacted==' };
    if (b.type === 'tool_use') return { type: 'tool_use', id: b.id ?? toolId(), name: b.name, input: b.input };
    return { type: 'text', text: b.text };
  });
}

function usageOf(u: MockUsage = DEFAULT_USAGE): Obj {
  return { cache_creation_input_tokens: 0, cache_read_input_tokens: 0, service_tier: 'standard', ...u };
}

function wholeMessage(model: string, m: Extract<AnthropicScenario, { kind: 'message' }>): Obj {
  const content = blocksOf(m.content);
  return {
    id: MESSAGE_ID,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: m.stopReason ?? (content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn'),
    stop_sequence: m.stopSequence ?? null,
    usage: usageOf(m.usage),
  };
}

/** The SSE events of a message, as Anthropic sends them. */
function events(model: string, m: Extract<AnthropicScenario, { kind: 'message' }>): [string, Obj][] {
  const whole = wholeMessage(model, m);
  const usage = whole.usage as Obj;
  const out: [string, Obj][] = [
    [
      'message_start',
      {
        type: 'message_start',
        message: {
          ...whole,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...usage, output_tokens: 1 },
        },
      },
    ],
    ['ping', { type: 'ping' }],
  ];
  (whole.content as Obj[]).forEach((b, index) => {
    const delta = (d: Obj) => out.push(['content_block_delta', { type: 'content_block_delta', index, delta: d }]);
    if (b.type === 'text') {
      out.push([
        'content_block_start',
        { type: 'content_block_start', index, content_block: { type: 'text', text: '' } },
      ]);
      for (const w of (b.text as string).match(/\s*\S+\s*/g) ?? []) delta({ type: 'text_delta', text: w });
    } else if (b.type === 'thinking') {
      out.push([
        'content_block_start',
        { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } },
      ]);
      for (const w of (b.thinking as string).match(/\s*\S+\s*/g) ?? []) delta({ type: 'thinking_delta', thinking: w });
      delta({ type: 'signature_delta', signature: b.signature as string });
    } else if (b.type === 'redacted_thinking') {
      out.push(['content_block_start', { type: 'content_block_start', index, content_block: b }]);
    } else {
      out.push([
        'content_block_start',
        { type: 'content_block_start', index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } },
      ]);
      delta({ type: 'input_json_delta', partial_json: '' });
      const json = JSON.stringify(b.input);
      if (json !== '{}')
        for (const part of json.match(/.{1,7}/gs) ?? []) delta({ type: 'input_json_delta', partial_json: part });
    }
    out.push(['content_block_stop', { type: 'content_block_stop', index }]);
    if (index === 0) out.push(['ping', { type: 'ping' }]);
  });
  out.push([
    'message_delta',
    {
      type: 'message_delta',
      delta: { stop_reason: whole.stop_reason, stop_sequence: whole.stop_sequence },
      usage: { output_tokens: usage.output_tokens },
    },
  ]);
  out.push(['message_stop', { type: 'message_stop' }]);
  return out;
}

function stream(
  res: ServerResponse,
  model: string,
  message: Extract<AnthropicScenario, { kind: 'message' }>,
  scenario: AnthropicScenario,
): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'request-id': 'req_mock',
  });
  const all = events(model, message);
  let i = 0;
  const next = () => {
    if (res.destroyed) return;
    if (scenario.kind === 'stream-error' && i === scenario.afterEvents) {
      res.end(
        `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: scenario.type, message: scenario.message ?? 'Overloaded' } })}\n\n`,
      );
      return;
    }
    if (scenario.kind === 'cut' && i === scenario.afterEvents) {
      res.socket?.destroy();
      return;
    }
    if (i >= all.length) {
      res.end();
      return;
    }
    const [event, data] = all[i++]!;
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    setImmediate(next);
  };
  next();
}
