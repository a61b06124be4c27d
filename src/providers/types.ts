/**
 * The one small interface every provider implements. A provider turns a validated chat
 * request into either a whole JSON completion or a stream of SSE data payloads; it
 * throws an UpstreamError (./errors.ts) when it fails before its first byte.
 */
import type { ChatRequest, Usage } from '../protocol/chat.js';

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
  /** W3C trace context for the upstream request (its attempt span), when tracing is on: HTTP providers send it as `traceparent`. */
  traceparent?: string;
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
