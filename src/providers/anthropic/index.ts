/**
 * Anthropic's Messages API (POST {baseUrl}/v1/messages) behind the OpenAI protocol: the request
 * is mapped by ./request.ts, the answer translated by ./response.ts (JSON) or ./stream.ts (SSE)
 * into events that ../completion-events.ts renders exactly as OpenAI would. One undici
 * keep-alive pool per provider, as for OpenAI-compatible upstreams.
 *
 * `sendMessages` sends a Messages body as it is and hands back the upstream's answer untouched,
 * for a client that itself speaks the Messages API.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { Pool } from 'undici';
import { renderChunks, renderCompletion } from '../completion-events.js';
import { upstreamErrors } from '../errors.js';
import type { UpstreamModel } from '../openai-compatible/index.js';
import { sseData } from '../sse-data.js';
import type { Provider, ProviderRequest, ProviderResponse } from '../types.js';
import { guard, readJsonBody, toUpstreamError } from '../upstream-http.js';
import { anthropicHttpError } from './errors.js';
import { messagesBody } from './request.js';
import { type AnthropicMessage, completionId, messageEvents } from './response.js';
import { type AnthropicEvent, isMessageStop, parsedEvents, streamError, streamEvents } from './stream.js';

/** The Messages API version Parley speaks (the only one Anthropic has published). */
export const ANTHROPIC_VERSION = '2023-06-01';

export interface AnthropicOptions {
  id: string;
  /** The API root, as in Anthropic's SDKs: requests go to {baseUrl}/v1/messages. */
  baseUrl: string;
  apiKey?: string;
  headers?: Record<string, string>;
  firstByteTimeoutMs: number;
  idleTimeoutMs: number;
  maxResponseBytes: number;
  /** max_tokens when the client sets none (else the per-family default, ./max-tokens.ts). */
  defaultMaxTokens?: number;
}

/** The upstream's answer to sendMessages: status 200, its headers and its body (JSON or SSE) unread. */
export interface RawMessagesResponse {
  headers: IncomingHttpHeaders;
  body: Readable;
}

export class AnthropicProvider implements Provider {
  readonly type = 'anthropic' as const;
  readonly id: string;
  private readonly pool: Pool;
  private readonly path: string;
  private readonly modelsPath: string;
  private readonly countPath: string;
  private readonly headers: Record<string, string>;
  /** UPSTREAM_MAX_RESPONSE_BYTES for this provider (a sendMessages caller names it when a body exceeds it). */
  readonly maxResponseBytes: number;
  private readonly defaultMaxTokens?: number;

  constructor(opts: AnthropicOptions) {
    this.id = opts.id;
    const url = new URL(opts.baseUrl);
    const root = url.pathname.replace(/\/+$/, '');
    this.path = `${root}/v1/messages${url.search}`;
    this.countPath = `${root}/v1/messages/count_tokens${url.search}`;
    // Anthropic pages its list; 1000 is its largest page, far more models than it has.
    this.modelsPath = `${root}/v1/models${url.search ? `${url.search}&` : '?'}limit=1000`;
    this.pool = new Pool(url.origin, {
      headersTimeout: opts.firstByteTimeoutMs,
      bodyTimeout: opts.idleTimeoutMs,
      keepAliveTimeout: 30_000,
      maxResponseSize: opts.maxResponseBytes,
    });
    this.maxResponseBytes = opts.maxResponseBytes;
    this.defaultMaxTokens = opts.defaultMaxTokens;
    this.headers = {
      'content-type': 'application/json',
      'anthropic-version': ANTHROPIC_VERSION,
      ...opts.headers,
      ...(opts.apiKey ? { 'x-api-key': opts.apiKey } : {}),
    };
  }

  async chat(req: ProviderRequest): Promise<ProviderResponse> {
    // Outside the request's try: a request Anthropic cannot carry is the client's 400.
    const body = messagesBody(req.request, {
      provider: this.id,
      model: req.upstreamModel,
      stream: req.stream,
      defaultMaxTokens: this.defaultMaxTokens,
    });
    const res = await this.post(JSON.stringify(body), req.signal, req.requestId, this.path, req.traceparent);
    if (res.statusCode !== 200) throw await anthropicHttpError(res, this.id);
    const created = Math.floor(Date.now() / 1000);
    if (req.stream) return this.stream(res, req.upstreamModel, created);

    const message = (await readJsonBody(res, this.id, this.maxResponseBytes)).value as AnthropicMessage;
    if (
      message === null ||
      typeof message !== 'object' ||
      message.type !== 'message' ||
      !Array.isArray(message.content)
    )
      throw upstreamErrors.notCompletion(this.id);
    const meta = { id: completionId(message.id, randomUUID()), model: message.model ?? req.upstreamModel, created };
    const { body: completion, usage } = renderCompletion(messageEvents(message), meta, this.id);
    return { kind: 'json', body: completion, usage };
  }

  /**
   * The stream's first event is read before answering: an `event: error` in its place (Anthropic
   * sends 200 and then "overloaded") fails over to the next target like an HTTP error would.
   */
  private async stream(res: Dispatcher.ResponseData, model: string, created: number): Promise<ProviderResponse> {
    const contentType = String(res.headers['content-type'] ?? '');
    if (!contentType.includes('text/event-stream')) {
      void res.body.dump();
      throw upstreamErrors.notEventStream(this.id, contentType);
    }
    const events = parsedEvents(guard(sseData(res.body, isMessageStop), this.id, this.maxResponseBytes), this.id)[
      Symbol.asyncIterator
    ]();
    let first: IteratorResult<AnthropicEvent>;
    do first = await events.next();
    while (!first.done && first.value.type === 'ping');
    if (first.done) throw upstreamErrors.emptyStream(this.id);
    if (first.value.type === 'error') {
      void events.return?.(undefined);
      throw streamError(first.value, this.id);
    }
    const start = first.value;
    const rest = (async function* () {
      yield start;
      yield* { [Symbol.asyncIterator]: () => events };
    })();
    const meta = {
      id: completionId(start.message?.id, randomUUID()),
      model: start.message?.model ?? model,
      created,
    };
    return { kind: 'stream', events: renderChunks(streamEvents(rest, this.id), meta, this.id) };
  }

  /**
   * Sends a Messages API body as it is (the caller's own `stream` decides JSON or SSE) and returns
   * the upstream's answer unread for the caller to relay. A non-200 answer is the mapped
   * UpstreamError, as for chat.
   */
  async sendMessages(
    body: Record<string, unknown> | string,
    opts: {
      signal: AbortSignal;
      requestId: string;
      /** `count_tokens` sends it to /v1/messages/count_tokens instead (Anthropic's token count). */
      endpoint?: 'messages' | 'count_tokens';
    },
  ): Promise<RawMessagesResponse> {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const path = opts.endpoint === 'count_tokens' ? this.countPath : this.path;
    const res = await this.post(text, opts.signal, opts.requestId, path);
    if (res.statusCode !== 200) throw await anthropicHttpError(res, this.id);
    return { headers: res.headers, body: res.body };
  }

  /**
   * Anthropic's model list (GET {baseUrl}/v1/models), for Parley's /v1/models when this provider
   * is the default one. Throws on any failure; `signal` bounds the whole exchange.
   */
  async listModels(signal: AbortSignal): Promise<UpstreamModel[]> {
    const { 'content-type': _, ...headers } = this.headers;
    const res = await this.pool.request({ path: this.modelsPath, method: 'GET', headers, signal });
    if (res.statusCode !== 200) {
      void res.body.dump();
      throw new Error(`Upstream ${this.id} answered GET /v1/models with HTTP ${res.statusCode}`);
    }
    const body = (await res.body.json()) as { data?: unknown } | null;
    if (!Array.isArray(body?.data))
      throw new Error(`Upstream ${this.id} answered GET /v1/models with something other than a model list`);
    const now = Math.floor(Date.now() / 1000);
    return (body.data as { id?: unknown; created_at?: unknown }[])
      .filter((m) => typeof m?.id === 'string' && m.id !== '')
      .map((m) => {
        const created = typeof m.created_at === 'string' ? Date.parse(m.created_at) : Number.NaN;
        return {
          id: m.id as string,
          created: Number.isNaN(created) ? now : Math.floor(created / 1000),
          owned_by: 'anthropic',
        };
      });
  }

  private async post(
    body: string,
    signal: AbortSignal,
    requestId: string,
    path = this.path,
    traceparent?: string,
  ): Promise<Dispatcher.ResponseData> {
    try {
      return await this.pool.request({
        path,
        method: 'POST',
        headers: { ...this.headers, 'x-request-id': requestId, ...(traceparent ? { traceparent } : {}) },
        body,
        signal,
      });
    } catch (err) {
      throw toUpstreamError(err, this.id, this.maxResponseBytes);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
