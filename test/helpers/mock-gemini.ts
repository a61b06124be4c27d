/**
 * A local Gemini API (v1beta generateContent) for tests. It speaks the exact wire format —
 * a GenerateContentResponse JSON, or `:streamGenerateContent?alt=sse` as `data:` events framed
 * with \r\n\r\n, usageMetadata cumulative on every event, safety blocks, Google's error
 * envelope before or in the middle of a stream — and refuses malformed requests the way the
 * real API does (400 INVALID_ARGUMENT: empty contents, a turn with no parts, a role other than
 * user/model, a part with no data, a functionResponse without a name, unknown fields, JSON
 * Schema keywords the old `parameters` field does not take, allowedFunctionNames outside mode
 * ANY; on gemini-3 models a turn's first functionCall without its thought signature; 403/400
 * for a missing or wrong x-goog-api-key). Every request it receives is kept.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GeminiReceived {
  url: string;
  model: string;
  stream: boolean;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

type Json = Record<string, unknown>;

/** One GenerateContentResponse as the stream sends it (the JSON answer is their union). */
export type GeminiEvent = Json;

export type GeminiScenario =
  /** These events as the stream; their union as the JSON answer. */
  | { kind: 'events'; events: GeminiEvent[] }
  /** An HTTP error with Google's envelope (or this exact body). */
  | { kind: 'error'; status: number; googleStatus?: string; body?: string; headers?: Record<string, string> }
  /** The events, then an error body in the stream (the JSON answer is the error, status 500). */
  | { kind: 'midstream-error'; events: GeminiEvent[]; error: Json }
  /** The events, then the connection is cut without the finish. */
  | { kind: 'cut'; events: GeminiEvent[] };

export interface MockGemini {
  /** The API root (what baseUrl is set to). */
  url: string;
  apiKey: string;
  received: GeminiReceived[];
  /** Scenario per model; `*` is the default. */
  scenarios: Map<string, GeminiScenario>;
  close(): Promise<void>;
}

/** The thought signatures this mock handed out (real ones are opaque; so are these). */
const issued = new Set<string>();
const SKIP = 'skip_thought_signature_validator';

export const text = (t: string, over: Json = {}): GeminiEvent => ({
  candidates: [{ content: { role: 'model', parts: [{ text: t }] }, index: 0, ...over }],
});

/** Google's usageMetadata. */
export const usage = (prompt: number, candidates: number, extra: Json = {}): Json => ({
  promptTokenCount: prompt,
  candidatesTokenCount: candidates,
  totalTokenCount: prompt + candidates + Number(extra.thoughtsTokenCount ?? 0),
  ...extra,
});

class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly googleStatus = 'INVALID_ARGUMENT',
    readonly details?: Json[],
  ) {
    super(message);
  }
}

function envelope(status: number, message: string, googleStatus: string, details?: Json[]): string {
  return JSON.stringify({ error: { code: status, message, status: googleStatus, ...(details ? { details } : {}) } });
}

const TOP = new Set([
  'contents',
  'systemInstruction',
  'tools',
  'toolConfig',
  'generationConfig',
  'safetySettings',
  'cachedContent',
]);
const GENERATION = new Set([
  'stopSequences',
  'maxOutputTokens',
  'temperature',
  'topP',
  'topK',
  'seed',
  'presencePenalty',
  'frequencyPenalty',
  'responseMimeType',
  'responseSchema',
  'responseJsonSchema',
  'candidateCount',
  'thinkingConfig',
]);
const PART = new Set([
  'text',
  'thought',
  'thoughtSignature',
  'inlineData',
  'functionCall',
  'functionResponse',
  'fileData',
]);
const DATA = ['text', 'inlineData', 'functionCall', 'functionResponse', 'fileData'];
/** What the OpenAPI-subset `parameters` field refuses (parametersJsonSchema takes them). */
const OPENAPI_UNSUPPORTED = ['additionalProperties', '$schema', '$defs', '$ref', 'const'];

function unknownField(path: string, name: string): Refused {
  return new Refused(400, `Invalid JSON payload received. Unknown name "${name}" at '${path}': Cannot find field.`);
}

function checkKeys(o: Json, allowed: Set<string>, path: string): void {
  for (const k of Object.keys(o)) if (!allowed.has(k)) throw unknownField(path, k);
}

function hasKeyword(schema: unknown, words: string[]): string | undefined {
  if (!schema || typeof schema !== 'object') return undefined;
  for (const [k, v] of Object.entries(schema)) {
    if (words.includes(k)) return k;
    const deep = hasKeyword(v, words);
    if (deep) return deep;
  }
  return undefined;
}

/** The checks the real API makes that Parley's translation could get wrong. */
export function validate(body: Json, model: string): void {
  checkKeys(body, TOP, '');
  const contents = body.contents;
  if (!Array.isArray(contents) || contents.length === 0) {
    throw new Refused(400, '* GenerateContentRequest.contents: contents is not specified');
  }
  contents.forEach((c: Json, i) => {
    const at = `GenerateContentRequest.contents[${i}]`;
    checkKeys(c, new Set(['role', 'parts']), `contents[${i}]`);
    if (c.role !== 'user' && c.role !== 'model') {
      throw new Refused(400, `* ${at}.role: Please use a valid role: user, model.`);
    }
    if (!Array.isArray(c.parts) || c.parts.length === 0) {
      throw new Refused(400, `* ${at}.parts: contents.parts must not be empty.`);
    }
    let firstCall = true;
    (c.parts as Json[]).forEach((p, j) => {
      checkKeys(p, PART, `contents[${i}].parts[${j}]`);
      const data = DATA.filter((k) => p[k] !== undefined);
      if (data.length !== 1) {
        throw new Refused(400, `* ${at}.parts[${j}].data: required oneof field 'data' must have one initialized field`);
      }
      if (typeof p.text === 'string' && p.text === '' && c.role === 'model') {
        throw new Refused(400, `* ${at}.parts[${j}].data: required oneof field 'data' must have one initialized field`);
      }
      const inline = p.inlineData as Json | undefined;
      if (inline) {
        if (
          typeof inline.mimeType !== 'string' ||
          typeof inline.data !== 'string' ||
          !/^[A-Za-z0-9+/]*={0,2}$/.test(inline.data)
        ) {
          throw new Refused(400, `* ${at}.parts[${j}].inline_data: mime_type and base64 data are required`);
        }
      }
      const fr = p.functionResponse as Json | undefined;
      if (fr) {
        if (c.role !== 'user') throw new Refused(400, `* ${at}: function response parts belong in a user turn`);
        if (typeof fr.name !== 'string' || fr.name === '') {
          throw new Refused(400, `* ${at}.parts[${j}].function_response.name: Name cannot be empty.`);
        }
        if (!fr.response || typeof fr.response !== 'object' || Array.isArray(fr.response)) {
          throw new Refused(
            400,
            `Invalid value at 'contents[${i}].parts[${j}].function_response.response' (type.googleapis.com/google.protobuf.Struct)`,
          );
        }
      }
      const fc = p.functionCall as Json | undefined;
      if (fc) {
        if (c.role !== 'model') throw new Refused(400, `* ${at}: function call parts belong in a model turn`);
        if (typeof fc.name !== 'string' || fc.name === '') {
          throw new Refused(400, `* ${at}.parts[${j}].function_call.name: Name cannot be empty.`);
        }
        if (fc.args !== undefined && (typeof fc.args !== 'object' || Array.isArray(fc.args))) {
          throw new Refused(
            400,
            `Invalid value at 'contents[${i}].parts[${j}].function_call.args' (type.googleapis.com/google.protobuf.Struct)`,
          );
        }
        if (firstCall && model.startsWith('gemini-3')) {
          const sig = p.thoughtSignature;
          if (typeof sig !== 'string') {
            throw new Refused(
              400,
              `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${fc.name}\` , position ${i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`,
            );
          }
          if (sig !== SKIP && !issued.has(sig)) throw new Refused(400, 'Corrupted thought signature.');
        }
        firstCall = false;
      }
    });
  });
  const sys = body.systemInstruction as Json | undefined;
  if (sys) {
    checkKeys(sys, new Set(['role', 'parts']), 'system_instruction');
    if (!Array.isArray(sys.parts) || sys.parts.length === 0) {
      throw new Refused(400, '* GenerateContentRequest.system_instruction.parts: contents.parts must not be empty.');
    }
  }
  const names = new Set<string>();
  for (const [t, tool] of ((body.tools as Json[] | undefined) ?? []).entries()) {
    checkKeys(tool, new Set(['functionDeclarations', 'googleSearch', 'codeExecution']), `tools[${t}]`);
    for (const [k, d] of ((tool.functionDeclarations as Json[] | undefined) ?? []).entries()) {
      const at = `tools[${t}].function_declarations[${k}]`;
      checkKeys(
        d,
        new Set([
          'name',
          'description',
          'parameters',
          'parametersJsonSchema',
          'response',
          'responseJsonSchema',
          'behavior',
        ]),
        at,
      );
      if (typeof d.name !== 'string' || !/^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$/.test(d.name)) {
        throw new Refused(400, `* GenerateContentRequest.${at}.name: Invalid function name.`);
      }
      if (d.parameters !== undefined && d.parametersJsonSchema !== undefined) {
        throw new Refused(
          400,
          `* GenerateContentRequest.${at}: parameters and parameters_json_schema cannot both be set`,
        );
      }
      const bad = hasKeyword(d.parameters, OPENAPI_UNSUPPORTED);
      if (bad) throw unknownField(`${at}.parameters`, bad);
      names.add(d.name);
    }
  }
  const fcc = (body.toolConfig as Json | undefined)?.functionCallingConfig as Json | undefined;
  if (fcc) {
    checkKeys(fcc, new Set(['mode', 'allowedFunctionNames']), 'tool_config.function_calling_config');
    if (!['AUTO', 'ANY', 'NONE', 'VALIDATED'].includes(String(fcc.mode))) {
      throw new Refused(400, `Invalid value at 'tool_config.function_calling_config.mode' (${String(fcc.mode)})`);
    }
    if (fcc.allowedFunctionNames !== undefined) {
      if (fcc.mode !== 'ANY' && fcc.mode !== 'VALIDATED') {
        throw new Refused(
          400,
          '* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: only allowed when mode is ANY',
        );
      }
      for (const n of fcc.allowedFunctionNames as string[]) {
        if (!names.has(n)) throw new Refused(400, `* allowed_function_names: ${n} is not a declared function`);
      }
    }
  }
  const g = body.generationConfig as Json | undefined;
  if (g) {
    checkKeys(g, GENERATION, 'generation_config');
    if (typeof g.temperature === 'number' && (g.temperature < 0 || g.temperature > 2)) {
      throw new Refused(400, '* GenerateContentRequest.generation_config.temperature: must be in [0.0, 2.0]');
    }
    const thinking = g.thinkingConfig as Json | undefined;
    if (thinking) {
      checkKeys(
        thinking,
        new Set(['thinkingBudget', 'thinkingLevel', 'includeThoughts']),
        'generation_config.thinking_config',
      );
      if (thinking.thinkingBudget !== undefined && thinking.thinkingLevel !== undefined) {
        throw new Refused(400, 'You can only set only one of thinking budget and thinking level.');
      }
      if (
        thinking.thinkingLevel !== undefined &&
        !['minimal', 'low', 'medium', 'high'].includes(String(thinking.thinkingLevel))
      ) {
        throw new Refused(
          400,
          `Invalid value at 'generation_config.thinking_config.thinking_level' (${String(thinking.thinkingLevel)})`,
        );
      }
    }
    if (Array.isArray(g.stopSequences) && g.stopSequences.length > 5) {
      throw new Refused(400, '* GenerateContentRequest.generation_config.stop_sequences: at most 5');
    }
  }
}

/** The JSON answer for a scenario's events: parts concatenated (adjacent text merged), the last finish and usage. */
export function union(events: GeminiEvent[]): Json {
  const parts: Json[] = [];
  let finishReason: unknown;
  let usageMetadata: unknown;
  let promptFeedback: unknown;
  for (const e of events) {
    const c = (e.candidates as Json[] | undefined)?.[0];
    for (const p of ((c?.content as Json | undefined)?.parts as Json[] | undefined) ?? []) {
      const last = parts.at(-1);
      const plain = (x: Json) => typeof x.text === 'string' && !x.thought && !x.thoughtSignature;
      if (last && plain(last) && plain(p)) last.text = String(last.text) + String(p.text);
      else parts.push({ ...p });
    }
    if (c?.finishReason) finishReason = c.finishReason;
    if (e.usageMetadata) usageMetadata = e.usageMetadata;
    if (e.promptFeedback) promptFeedback = e.promptFeedback;
  }
  const out: Json = { modelVersion: 'gemini-mock', responseId: 'mock-response' };
  if (parts.length > 0 || finishReason) {
    out.candidates = [{ content: { role: 'model', parts }, ...(finishReason ? { finishReason } : {}), index: 0 }];
  }
  if (promptFeedback) out.promptFeedback = promptFeedback;
  if (usageMetadata) out.usageMetadata = usageMetadata;
  return out;
}

function noteSignatures(events: GeminiEvent[]): void {
  for (const e of events) {
    for (const c of (e.candidates as Json[] | undefined) ?? []) {
      for (const p of ((c.content as Json | undefined)?.parts as Json[] | undefined) ?? []) {
        if (typeof p.thoughtSignature === 'string') issued.add(p.thoughtSignature);
      }
    }
  }
}

const ROUTE = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

export async function startMockGemini(apiKey = 'gemini-test-key'): Promise<MockGemini> {
  const received: GeminiReceived[] = [];
  const scenarios = new Map<string, GeminiScenario>([
    ['*', { kind: 'events', events: [text('Hello from Gemini.', { finishReason: 'STOP' })] }],
  ]);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://mock');
    const m = ROUTE.exec(url.pathname);
    const fail = (status: number, message: string, googleStatus: string, details?: Json[]) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(envelope(status, message, googleStatus, details));
    };
    if (req.method !== 'POST' || !m) return fail(404, `Method not found: ${url.pathname}`, 'NOT_FOUND');
    const model = decodeURIComponent(m[1]!);
    const stream = m[2] === 'streamGenerateContent';
    if (stream && url.searchParams.get('alt') !== 'sse') {
      return fail(
        400,
        'streamGenerateContent without alt=sse answers a JSON array; this mock speaks SSE only',
        'INVALID_ARGUMENT',
      );
    }
    let body: Json;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return fail(400, 'Invalid JSON payload received.', 'INVALID_ARGUMENT');
    }
    received.push({ url: req.url ?? '', model, stream, headers: req.headers, body });
    const key = req.headers['x-goog-api-key'];
    if (key === undefined) {
      return fail(
        403,
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        'PERMISSION_DENIED',
      );
    }
    if (key !== apiKey) {
      return fail(400, 'API key not valid. Please pass a valid API key.', 'INVALID_ARGUMENT', [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' },
      ]);
    }
    try {
      validate(body, model);
    } catch (err) {
      if (err instanceof Refused) return fail(err.status, err.message, err.googleStatus, err.details);
      throw err;
    }
    const sc = scenarios.get(model) ?? scenarios.get('*')!;
    if (sc.kind === 'error') {
      res.writeHead(sc.status, { 'content-type': 'application/json; charset=UTF-8', ...sc.headers });
      res.end(sc.body ?? envelope(sc.status, `mock gemini error ${sc.status}`, sc.googleStatus ?? 'INTERNAL'));
      return;
    }
    noteSignatures(sc.events);
    if (!stream) {
      if (sc.kind === 'midstream-error') return fail(500, 'An internal error has occurred.', 'INTERNAL');
      if (sc.kind === 'cut') {
        res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'content-length': '1000' });
        res.write(JSON.stringify(union(sc.events)).slice(0, 20));
        res.socket?.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify(union(sc.events)));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const e of sc.events) {
      res.write(`data: ${JSON.stringify({ ...e, modelVersion: 'gemini-mock', responseId: 'mock-response' })}\r\n\r\n`);
      await new Promise((r) => setImmediate(r));
    }
    if (sc.kind === 'midstream-error') {
      res.write(`data: ${JSON.stringify({ error: sc.error })}\r\n\r\n`);
      res.end();
      return;
    }
    if (sc.kind === 'cut') {
      await new Promise((r) => setTimeout(r, 10));
      res.socket?.destroy();
      return;
    }
    res.end();
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    received,
    scenarios,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
