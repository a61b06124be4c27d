/**
 * A local OpenAI-compatible upstream for tests: speaks the exact wire format (JSON
 * completions, SSE chunks with tool-call deltas and include_usage, error envelopes) and
 * can misbehave on purpose (slow, broken, hanging, reset, garbage, endless, refusing its
 * key, rate-limiting). Every request it receives is kept so tests can assert on what
 * Parley sent upstream.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  /** Set when Parley closed this request's connection before the response ended (an aborted attempt). */
  aborted?: boolean;
  /** Milliseconds since the mock started, when the request arrived. */
  at?: number;
}

export type Scenario =
  /**
   * `firstTokenDelayMs`: headers and the role chunk go at once, the first content after this
   * long (a model that thinks before it speaks); `reasoning`: sent first as reasoning_content
   * deltas, word by word (as DeepSeek-style servers do); `omitUsage`: no usage chunk even when
   * asked (servers that ignore include_usage).
   */
  | {
      kind: 'text';
      text?: string;
      delayMs?: number;
      firstTokenDelayMs?: number;
      reasoning?: string;
      omitUsage?: boolean;
    }
  | { kind: 'tool'; name: string; args: string }
  | { kind: 'error'; status: number; body?: string; headers?: Record<string, string> }
  | { kind: 'raw'; status?: number; contentType?: string; body: string } // exactly this response, whatever was asked
  | { kind: 'broken'; afterChunks: number } // closes the socket mid-stream, no [DONE]
  | { kind: 'midstream-error'; afterChunks: number } // an OpenAI error event mid-stream
  | { kind: 'hang' } // never answers
  | { kind: 'stall'; afterChunks: number } // sends some chunks, then nothing
  | { kind: 'malformed-usage'; afterChunks: number } // a usage chunk cut short mid-stream, then the rest as usual
  | { kind: 'reset'; afterChunks: number | null } // TCP RST: before the response (null) or after some chunks
  | { kind: 'endless' }; // a valid start, then a body that never ends (JSON string or SSE chunks), until Parley hangs up

/** What GET /v1/models answers. Default: 404, as from a server without that route. */
export type ModelsScenario =
  | { kind: 'list'; ids: string[] } // OpenAI's list shape
  | { kind: 'error'; status: number }
  | { kind: 'raw'; body: string } // 200 with exactly this body
  | { kind: 'hang' }; // never answers

const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'];

/** The most an endless body sends if nobody stops it, so a test that fails still ends. */
export const ENDLESS_LIMIT_BYTES = 256 * 1024 * 1024;

export interface MockUpstream {
  url: string; // base URL including /v1
  received: Received[];
  /** Scenario per upstream model name; `*` is the default. */
  scenarios: Map<string, Scenario>;
  /** What GET /v1/models answers (set it to change). Those requests are counted, not kept in `received`. */
  models: ModelsScenario;
  /** GET /v1/models requests received, and the headers of the last one. */
  readonly modelRequests: number;
  readonly modelRequestHeaders: IncomingMessage['headers'] | undefined;
  /** Requests whose client connection closed before the response ended. */
  aborted: number;
  close(): Promise<void>;
}

const envelope = (status: number) =>
  JSON.stringify({
    error: {
      message: `mock upstream error ${status}`,
      type: status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error',
      param: null,
      code: status === 429 ? 'rate_limit_exceeded' : status === 404 ? 'model_not_found' : null,
    },
  });

const BOTH_LIMITS = JSON.stringify({
  error: {
    message: "Setting 'max_tokens' and 'max_completion_tokens' at the same time is not supported.",
    type: 'invalid_request_error',
    param: 'max_tokens',
    code: 'invalid_parameter_combination',
  },
});

export async function startMockUpstream(): Promise<MockUpstream> {
  const received: Received[] = [];
  const started = performance.now();
  const scenarios = new Map<string, Scenario>([['*', { kind: 'text' }]]);
  const sockets = new Set<import('node:net').Socket>();
  const state = {
    aborted: 0,
    modelRequests: 0,
    modelRequestHeaders: undefined as IncomingMessage['headers'] | undefined,
    models: { kind: 'error', status: 404 } as ModelsScenario,
  };

  const server: Server = createServer(async (req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0]?.endsWith('/models')) {
      state.modelRequests++;
      state.modelRequestHeaders = req.headers;
      listModels(state.models, res);
      return;
    }
    let raw = '';
    for await (const c of req) raw += c;
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(raw);
    } catch {
      /* recorded as empty */
    }
    const entry: Received = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body,
      at: performance.now() - started,
    };
    received.push(entry);
    res.on('close', () => {
      if (res.writableFinished) return;
      state.aborted++;
      entry.aborted = true;
    });
    // api.openai.com refuses both token limits in one request (Parley keeps one: voice/platforms/normalise.ts).
    if (body.max_tokens != null && body.max_completion_tokens != null) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(BOTH_LIMITS);
      return;
    }
    const model = String(body.model ?? '');
    const scenario = scenarios.get(model) ?? scenarios.get('*')!;
    // Refused as OpenAI refuses it: a reasoning_effort outside the spec's values.
    if (body.reasoning_effort !== undefined && !REASONING_EFFORTS.includes(body.reasoning_effort as string)) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error: {
            message: `Invalid value: '${String(body.reasoning_effort)}'. Supported values are: ${REASONING_EFFORTS.map((e) => `'${e}'`).join(', ')}.`,
            type: 'invalid_request_error',
            param: 'reasoning_effort',
            code: 'invalid_value',
          },
        }),
      );
      return;
    }
    handle(scenario, body, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    received,
    scenarios,
    get aborted() {
      return state.aborted;
    },
    get models() {
      return state.models;
    },
    set models(m: ModelsScenario) {
      state.models = m;
    },
    get modelRequests() {
      return state.modelRequests;
    },
    get modelRequestHeaders() {
      return state.modelRequestHeaders;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function listModels(m: ModelsScenario, res: ServerResponse): void {
  if (m.kind === 'hang') return;
  if (m.kind === 'error') {
    res.writeHead(m.status, { 'content-type': 'application/json' }).end(envelope(m.status));
    return;
  }
  const body =
    m.kind === 'raw'
      ? m.body
      : JSON.stringify({
          object: 'list',
          data: m.ids.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'mock-org' })),
        });
  res.writeHead(200, { 'content-type': 'application/json' }).end(body);
}

function handle(s: Scenario, body: Record<string, unknown>, res: ServerResponse): void {
  if (s.kind === 'hang') return;
  if (s.kind === 'error') {
    res.writeHead(s.status, { 'content-type': 'application/json', ...s.headers }).end(s.body ?? envelope(s.status));
    return;
  }
  if (s.kind === 'raw') {
    res.writeHead(s.status ?? 200, s.contentType ? { 'content-type': s.contentType } : {}).end(s.body);
    return;
  }
  if (s.kind === 'reset' && s.afterChunks === null) {
    res.socket?.resetAndDestroy();
    return;
  }
  if (s.kind === 'endless') {
    endless(body, res);
    return;
  }
  const id = 'chatcmpl-mock123';
  const created = 1_700_000_000;
  const model = String(body.model);
  const stream = body.stream === true;
  const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };
  const n = typeof body.n === 'number' ? body.n : 1;
  const text = s.kind === 'text' && s.text !== undefined ? s.text : 'Hello from the mock upstream.';

  if (!stream) {
    const message =
      s.kind === 'tool'
        ? {
            role: 'assistant',
            content: null,
            refusal: null,
            tool_calls: [{ id: 'call_mock1', type: 'function', function: { name: s.name, arguments: s.args } }],
          }
        : { role: 'assistant', content: text, refusal: null };
    const answer = () =>
      res.destroyed ||
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id,
          object: 'chat.completion',
          created,
          model,
          choices: Array.from({ length: n }, (_, index) => ({
            index,
            message,
            logprobs: null,
            finish_reason: s.kind === 'tool' ? 'tool_calls' : 'stop',
          })),
          usage,
          system_fingerprint: 'fp_mock',
        }),
      );
    // A JSON answer comes whole: a slow first token delays all of it.
    if (s.kind === 'text' && s.firstTokenDelayMs) later(res, answer, s.firstTokenDelayMs);
    else answer();
    return;
  }

  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_mock', choices, ...(includeUsage ? { usage: null } : {}), ...extra })}\n\n`;
  const events: string[] = [];
  for (let i = 0; i < n; i++)
    events.push(
      chunk([
        {
          index: i,
          delta: { role: 'assistant', content: s.kind === 'tool' ? null : '' },
          logprobs: null,
          finish_reason: null,
        },
      ]),
    );
  if (s.kind === 'tool') {
    events.push(
      chunk([
        {
          index: 0,
          delta: {
            tool_calls: [{ index: 0, id: 'call_mock1', type: 'function', function: { name: s.name, arguments: '' } }],
          },
          logprobs: null,
          finish_reason: null,
        },
      ]),
    );
    for (const part of s.args.match(/.{1,5}/gs) ?? []) {
      events.push(
        chunk([
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, function: { arguments: part } }] },
            logprobs: null,
            finish_reason: null,
          },
        ]),
      );
    }
    events.push(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'tool_calls' }]));
  } else {
    if (s.kind === 'text' && s.reasoning) {
      for (const word of s.reasoning.match(/\s*\S+/g) ?? []) {
        for (let i = 0; i < n; i++)
          events.push(chunk([{ index: i, delta: { reasoning_content: word }, logprobs: null, finish_reason: null }]));
      }
    }
    for (const word of text.match(/\s*\S+/g) ?? []) {
      for (let i = 0; i < n; i++)
        events.push(chunk([{ index: i, delta: { content: word }, logprobs: null, finish_reason: null }]));
    }
    for (let i = 0; i < n; i++) events.push(chunk([{ index: i, delta: {}, logprobs: null, finish_reason: 'stop' }]));
  }
  // A usage chunk whose JSON stops in the middle of its usage object.
  if (s.kind === 'malformed-usage')
    events.splice(
      s.afterChunks,
      0,
      `data: {"id":"${id}","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":11,\n\n`,
    );
  if (includeUsage && !(s.kind === 'text' && s.omitUsage))
    events.push(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_mock', choices: [], usage })}\n\n`,
    );
  events.push('data: [DONE]\n\n');

  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const delay = s.kind === 'text' ? (s.delayMs ?? 0) : 0;
  const firstTokenDelay = s.kind === 'text' ? (s.firstTokenDelayMs ?? 0) : 0;
  let i = 0;
  const next = () => {
    if (res.destroyed) return;
    if (
      (s.kind === 'broken' || s.kind === 'midstream-error' || s.kind === 'stall' || s.kind === 'reset') &&
      i === s.afterChunks
    ) {
      if (s.kind === 'broken') res.socket?.destroy();
      if (s.kind === 'reset') res.socket?.resetAndDestroy();
      if (s.kind === 'midstream-error') res.end(`data: ${envelope(500)}\n\n`);
      return; // stall: keep the connection open, send nothing
    }
    if (i >= events.length) {
      res.end();
      return;
    }
    res.write(events[i++]);
    // After the role chunks (one per choice): the pause before the first token.
    if (firstTokenDelay && i === n) later(res, next, firstTokenDelay);
    else if (delay) setTimeout(next, delay);
    else setImmediate(next);
  };
  next();
}

/** Runs `fn` after `ms`, unless the connection closes first (a long delay must not keep a finished test alive). */
function later(res: ServerResponse, fn: () => unknown, ms: number): void {
  const timer = setTimeout(fn, ms);
  res.once('close', () => clearTimeout(timer));
}

/** Writes as fast as the reader takes it, until the connection closes (or ENDLESS_LIMIT_BYTES). */
function endless(body: Record<string, unknown>, res: ServerResponse): void {
  const stream = body.stream === true;
  res.writeHead(200, { 'content-type': stream ? 'text/event-stream' : 'application/json' });
  const piece = stream
    ? `data: ${JSON.stringify({ id: 'chatcmpl-mock123', object: 'chat.completion.chunk', created: 1_700_000_000, model: String(body.model), choices: [{ index: 0, delta: { content: ' more' }, logprobs: null, finish_reason: null }] })}\n\n`.repeat(
        100,
      )
    : 'x'.repeat(64 * 1024);
  res.write(
    stream
      ? `data: ${JSON.stringify({ id: 'chatcmpl-mock123', object: 'chat.completion.chunk', created: 1_700_000_000, model: String(body.model), choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] })}\n\n`
      : '{"id":"chatcmpl-mock123","object":"chat.completion","content":"',
  );
  let sent = 0;
  const pump = () => {
    while (!res.destroyed) {
      if (sent > ENDLESS_LIMIT_BYTES) {
        res.end();
        return;
      }
      sent += piece.length;
      if (!res.write(piece)) {
        res.once('drain', pump);
        return;
      }
    }
  };
  pump();
}
