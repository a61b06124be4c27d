/**
 * Google's Gemini API (generativelanguage.googleapis.com, v1beta generateContent) behind the
 * OpenAI protocol. One undici keep-alive pool per provider; the key goes in the
 * x-goog-api-key header, never in the URL (URLs end up in logs).
 */
import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { Pool } from 'undici';
import { type CompletionMeta, renderChunks, renderCompletion } from '../completion-events.js';
import { upstreamErrors } from '../errors.js';
import { sseData } from '../sse-data.js';
import type { Provider, ProviderRequest, ProviderResponse } from '../types.js';
import { guard, readJsonBody, toUpstreamError } from '../upstream-http.js';
import { httpError } from './errors.js';
import { DEFAULT_IMAGE_FETCH, ImageFetcher, type ImageFetchOptions } from './images.js';
import { toGeminiRequest } from './request.js';
import { GeminiReader } from './response.js';
import { streamEvents } from './stream.js';
import type { GeminiResponse } from './wire.js';

export interface GeminiOptions {
  id: string;
  /** The API root, as in Google's SDKs: https://generativelanguage.googleapis.com */
  baseUrl: string;
  apiKey?: string;
  headers?: Record<string, string>;
  firstByteTimeoutMs: number;
  idleTimeoutMs: number;
  maxResponseBytes: number;
  /** How image URLs are fetched (tests allow http to a local server; see ImageFetchOptions). */
  imageFetch?: ImageFetchOptions;
}

export class GeminiProvider implements Provider {
  readonly type = 'gemini' as const;
  readonly id: string;
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly headers: Record<string, string>;
  private readonly maxResponseBytes: number;
  private readonly images: ImageFetcher;

  constructor(opts: GeminiOptions) {
    this.id = opts.id;
    const url = new URL(opts.baseUrl);
    this.basePath = `${url.pathname.replace(/\/+$/, '')}/v1beta/models/`;
    this.pool = new Pool(url.origin, {
      headersTimeout: opts.firstByteTimeoutMs,
      bodyTimeout: opts.idleTimeoutMs,
      keepAliveTimeout: 30_000,
      maxResponseSize: opts.maxResponseBytes,
    });
    this.maxResponseBytes = opts.maxResponseBytes;
    this.headers = {
      'content-type': 'application/json',
      ...opts.headers,
      ...(opts.apiKey ? { 'x-goog-api-key': opts.apiKey } : {}),
    };
    this.images = new ImageFetcher(opts.imageFetch ?? DEFAULT_IMAGE_FETCH);
  }

  async chat(req: ProviderRequest): Promise<ProviderResponse> {
    const body = JSON.stringify(
      await toGeminiRequest(req.request, {
        provider: this.id,
        upstreamModel: req.upstreamModel,
        images: this.images,
        signal: req.signal,
      }),
    );
    // "models/gemini-2.5-flash" is how Google's own list names them: the path wants the bare name.
    const model = encodeURIComponent(req.upstreamModel.replace(/^models\//, ''));
    const path = req.stream
      ? `${this.basePath}${model}:streamGenerateContent?alt=sse`
      : `${this.basePath}${model}:generateContent`;
    let res: Dispatcher.ResponseData;
    try {
      res = await this.pool.request({
        path,
        method: 'POST',
        headers: {
          ...this.headers,
          accept: req.stream ? 'text/event-stream' : 'application/json',
          ...(req.traceparent ? { traceparent: req.traceparent } : {}),
        },
        body,
        signal: req.signal,
      });
    } catch (err) {
      throw toUpstreamError(err, this.id, this.maxResponseBytes);
    }
    if (res.statusCode !== 200) throw await httpError(res, this.id);
    const meta: CompletionMeta = {
      id: `chatcmpl-${randomUUID().replace(/-/g, '')}`,
      model: req.upstreamModel,
      created: Math.floor(Date.now() / 1000),
    };
    const reader = new GeminiReader(this.id);
    const contentType = String(res.headers['content-type'] ?? '');
    if (req.stream) {
      if (!contentType.includes('text/event-stream')) {
        void res.body.dump();
        throw upstreamErrors.notEventStream(this.id, contentType);
      }
      const data = guard(sseData(res.body), this.id, this.maxResponseBytes);
      return { kind: 'stream', events: renderChunks(streamEvents(data, reader, this.id), meta, this.id) };
    }
    const parsed = (await readJsonBody(res, this.id, this.maxResponseBytes)).value;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw upstreamErrors.notCompletion(this.id);
    }
    const r = parsed as GeminiResponse;
    const events = reader.events(r); // throws Google's error when the body is one
    if (!r.candidates?.length && !r.promptFeedback?.blockReason) throw upstreamErrors.notCompletion(this.id);
    // A JSON answer without a finishReason is still complete: it ends as `stop`.
    const { body: out, usage } = renderCompletion(events, meta, this.id);
    return { kind: 'json', body: out, usage };
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.close(), this.images.close()]);
  }
}
