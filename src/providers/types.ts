/**
 * The one small interface every provider implements. A provider turns a validated chat
 * request into either a whole JSON completion or a stream of SSE data payloads; it
 * throws an UpstreamError when it fails before its first byte.
 */
import type { ChatRequest, Usage } from '../protocol/chat.js';
import { ApiError, type ErrorType } from '../protocol/errors.js';

export interface ProviderRequest {
  /** The client's validated body. Providers must not mutate it. */
  request: ChatRequest;
  /** The model name to send upstream (the alias resolved by routing). */
  upstreamModel: string;
  stream: boolean;
  /** Send only fields the OpenAI protocol (plus the provider's extras) defines. */
  allowlistOnly: boolean;
  signal: AbortSignal;
  requestId: string;
}

export type ProviderResponse =
  /** `body` is the completion's JSON text, relayed to the client byte for byte. */
  | { kind: 'json'; body: string; usage?: Usage }
  /** Each item is one SSE `data:` payload as received, including the final "[DONE]". */
  | { kind: 'stream'; events: AsyncIterable<string> };

export interface Provider {
  readonly id: string;
  /** Its registry entry's type (src/providers/registry.ts). */
  readonly type: string;
  chat(req: ProviderRequest): Promise<ProviderResponse>;
  close?(): Promise<void>;
}

/** A provider failure with the status Parley answers with. */
export class UpstreamError extends ApiError {
  constructor(
    status: number,
    message: string,
    type: ErrorType,
    code: string | null,
    /** The upstream's own error body (OpenAI envelope JSON), passed through verbatim when present. */
    readonly upstreamBody?: string,
    /** Response headers the client gets with this error: the upstream's retry-after and x-ratelimit-*. */
    readonly headers?: Record<string, string | string[]>,
  ) {
    super(status, message, type, code);
  }

  /** The upstream's own envelope when it sent one, so clients see exactly what the provider said. */
  override toJson(): string {
    return this.upstreamBody ?? super.toJson();
  }

  /**
   * Worth trying the next target: the upstream is down, overloaded, timed out, misbehaved or
   * refused Parley's credentials for it (a 401/403 becomes 502) — not the request at fault.
   */
  get retryable(): boolean {
    return this.status === 429 || this.status >= 500;
  }
}
