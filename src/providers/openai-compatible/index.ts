/**
 * Any server that speaks OpenAI's Chat Completions protocol: OpenAI itself, Azure
 * OpenAI's v1 endpoint, Groq, Together, OpenRouter, Ollama, vLLM, llama.cpp's server.
 * One undici keep-alive pool per provider; the stream is relayed as received.
 */
import type { Dispatcher } from 'undici';
import { Pool } from 'undici';
import type { Usage } from '../../protocol/chat.js';
import { allowlisted } from '../../protocol/upstream-fields.js';
import { type UpstreamError, upstreamErrors } from '../errors.js';
import { sseData } from '../sse-data.js';
import type { Provider, ProviderRequest, ProviderResponse } from '../types.js';
import { PLAIN_CODE, readErrorText, readJsonBody, retryHeaders, toUpstreamError } from '../upstream-http.js';
import { ChunkRepair } from './chunk-repair.js';

export interface OpenAICompatibleOptions {
  id: string;
  baseUrl: string;
  apiKey?: string;
  headers?: Record<string, string>;
  firstByteTimeoutMs: number;
  idleTimeoutMs: number;
  /** Largest response body read (JSON, or a whole stream); beyond it the request fails. */
  maxResponseBytes: number;
  /** Fields beyond the OpenAI protocol this upstream accepts (kept in allow-list mode). */
  extraParams?: string[];
  /** Ask for stream_options.include_usage so Parley can count tokens. */
  requestUsage?: boolean;
}

/** One entry of an upstream's GET /models, in OpenAI's Model shape. */
export interface UpstreamModel {
  id: string;
  created: number;
  owned_by: string;
}

export class OpenAICompatibleProvider implements Provider {
  readonly type = 'openai-compatible' as const;
  readonly id: string;
  private readonly pool: Pool;
  private readonly path: string;
  private readonly modelsPath: string;
  private readonly headers: Record<string, string>;
  private readonly listHeaders: Record<string, string>;
  private readonly extras: ReadonlySet<string>;
  private readonly requestUsage: boolean;
  private readonly maxResponseBytes: number;

  constructor(opts: OpenAICompatibleOptions) {
    this.id = opts.id;
    const url = new URL(opts.baseUrl);
    this.path = `${url.pathname.replace(/\/+$/, '')}/chat/completions${url.search}`;
    this.modelsPath = `${url.pathname.replace(/\/+$/, '')}/models${url.search}`;
    this.pool = new Pool(url.origin, {
      headersTimeout: opts.firstByteTimeoutMs,
      bodyTimeout: opts.idleTimeoutMs,
      keepAliveTimeout: 30_000,
      // undici counts body bytes as they arrive and, past the cap, destroys the socket and
      // fails the body with ResponseExceededMaxSizeError (mapped to 502 below): a runaway
      // upstream costs at most this much memory, whether the body is JSON or a stream.
      maxResponseSize: opts.maxResponseBytes,
    });
    this.maxResponseBytes = opts.maxResponseBytes;
    // Built once: the per-request work is one object spread.
    const auth: Record<string, string> = opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {};
    this.headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...opts.headers,
      ...auth,
    };
    this.listHeaders = { accept: 'application/json', ...opts.headers, ...auth };
    this.extras = new Set(opts.extraParams ?? []);
    this.requestUsage = opts.requestUsage ?? true;
  }

  /** The body sent upstream: the client's, with the routed model, and usage requested on streams. */
  upstreamBody(req: ProviderRequest): Record<string, unknown> {
    const src = req.request;
    const out = req.allowlistOnly ? allowlisted(src, this.extras) : { ...src };
    out.model = req.upstreamModel;
    if (req.stream && this.requestUsage) out.stream_options = { ...src.stream_options, include_usage: true };
    return out;
  }

  async chat(req: ProviderRequest): Promise<ProviderResponse> {
    // Outside the try below: a failure to serialize is Parley's, not the upstream's.
    const body = JSON.stringify(this.upstreamBody(req));
    let res: Dispatcher.ResponseData;
    try {
      res = await this.pool.request({
        path: this.path,
        method: 'POST',
        headers: {
          ...this.headers,
          'x-request-id': req.requestId,
          ...(req.traceparent ? { traceparent: req.traceparent } : {}),
        },
        body,
        signal: req.signal,
      });
    } catch (err) {
      throw toUpstreamError(err, this.id, this.maxResponseBytes);
    }
    if (res.statusCode !== 200) throw await httpError(res, this.id);
    const contentType = String(res.headers['content-type'] ?? '');
    if (req.stream) {
      if (!contentType.includes('text/event-stream')) {
        // dump() listens for the body's errors and reads at most 128 KiB before destroying
        // it; a bare destroy() here emitted an 'error' nobody heard, and the process died.
        void res.body.dump();
        throw upstreamErrors.notEventStream(this.id, contentType);
      }
      return { kind: 'stream', events: relayed(res.body, this.id, this.maxResponseBytes) };
    }
    const { text, value: parsed } = await readJsonBody(res, this.id, this.maxResponseBytes);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw upstreamErrors.notCompletion(this.id);
    }
    return { kind: 'json', body: text, usage: (parsed as { usage?: Usage }).usage ?? undefined };
  }

  /**
   * The upstream's own model list (GET {baseUrl}/models), for Parley's /v1/models. Throws on
   * any failure, HTTP or shape; `signal` bounds the whole exchange (the caller's timeout).
   */
  async listModels(signal: AbortSignal): Promise<UpstreamModel[]> {
    const res = await this.pool.request({ path: this.modelsPath, method: 'GET', headers: this.listHeaders, signal });
    if (res.statusCode !== 200) {
      void res.body.dump();
      throw new Error(`Upstream ${this.id} answered GET /models with HTTP ${res.statusCode}`);
    }
    const body = (await res.body.json()) as { data?: unknown } | null;
    if (!Array.isArray(body?.data))
      throw new Error(`Upstream ${this.id} answered GET /models with something other than a model list`);
    const models: UpstreamModel[] = [];
    for (const m of body.data as { id?: unknown; created?: unknown; owned_by?: unknown }[]) {
      if (typeof m?.id !== 'string' || !m.id) continue;
      models.push({
        id: m.id,
        created: typeof m.created === 'number' ? m.created : Math.floor(Date.now() / 1000),
        owned_by: typeof m.owned_by === 'string' ? m.owned_by : this.id,
      });
    }
    return models;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/**
 * The upstream's payloads as received, but for what ChunkRepair mends (a tool call's repeated
 * name, a missing finish_reason); a transport failure mid-stream becomes the catalogue's error.
 * (upstream-http.ts' guard, with the repair in the same loop: no extra async layer per chunk.)
 */
async function* relayed(body: Dispatcher.ResponseData['body'], id: string, maxBytes: number): AsyncGenerator<string> {
  const repair = new ChunkRepair();
  try {
    for await (const data of sseData(body)) {
      const before = repair.before(data);
      if (before !== null) yield* before;
      const now = repair.fix(data);
      if (now !== null) yield now;
    }
  } catch (err) {
    const held = repair.rest();
    if (held !== null) yield held;
    throw toUpstreamError(err, id, maxBytes);
  }
  const held = repair.rest();
  if (held !== null) yield held;
}

async function httpError(res: Dispatcher.ResponseData, id: string): Promise<UpstreamError> {
  const text = await readErrorText(res);
  const status = res.statusCode >= 400 && res.statusCode <= 599 ? res.statusCode : 502;
  let parsed: { error?: { message?: unknown; type?: unknown; code?: unknown } } | undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const e = parsed?.error;
  if (res.statusCode === 401 || res.statusCode === 403) {
    // The upstream refused Parley's own credentials for this provider (a wrong or revoked
    // key, a project without access): the operator's configuration, not the client's key.
    return upstreamErrors.credentialsRefused(
      id,
      res.statusCode,
      typeof e?.code === 'string' && PLAIN_CODE.test(e.code) ? e.code : null,
    );
  }
  // Rate-limit signals go back with the status they came with, so SDKs wait as told instead of guessing.
  const headers = res.statusCode === 429 || res.statusCode >= 500 ? retryHeaders(res.headers) : undefined;
  if (e && typeof e === 'object' && typeof e.message === 'string') {
    // Already OpenAI's envelope: pass it through verbatim.
    return upstreamErrors.envelope(
      status,
      e.message,
      typeof e.type === 'string' ? e.type : 'upstream_error',
      typeof e.code === 'string' ? e.code : null,
      text,
      headers,
    );
  }
  return upstreamErrors.httpStatus(id, status, text, headers);
}
