/**
 * The upstream half of Parley's error catalogue (the client half is src/protocol/errors.ts):
 * every way an upstream can fail, by name, with the status and OpenAI envelope the client
 * gets. Providers raise these; the pipeline decides from `retryable` whether the next target
 * is tried.
 */
import { ApiError, type ErrorType } from '../protocol/errors.js';

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

type Headers = Record<string, string | string[]>;

/** An upstream error type worth repeating as the code: short and plain. */
const PLAIN_ERROR_TYPE = /^[a-z0-9_]{1,64}$/;

/** The status an Anthropic `event: error` stands for (it arrives after HTTP 200, so it has none). */
const ANTHROPIC_STREAM_STATUS: Record<string, number> = {
  overloaded_error: 503,
  rate_limit_error: 429,
  api_error: 502,
  timeout_error: 504,
  request_too_large: 413,
  invalid_request_error: 400,
};

export const upstreamErrors = {
  /** A stream was asked for and something else came back (the body is dropped unread). */
  notEventStream: (id: string, contentType: string) =>
    new UpstreamError(
      502,
      `Upstream ${id} answered a stream request with ${contentType || 'no content type'} instead of text/event-stream`,
      'upstream_error',
      'bad_upstream_response',
    ),
  notJson: (id: string) =>
    new UpstreamError(
      502,
      `Upstream ${id} returned a body that is not JSON`,
      'upstream_error',
      'bad_upstream_response',
    ),
  notCompletion: (id: string) =>
    new UpstreamError(
      502,
      `Upstream ${id} returned JSON that is not a chat completion object`,
      'upstream_error',
      'bad_upstream_response',
    ),
  emptyStream: (id: string | null) =>
    new UpstreamError(
      502,
      `Upstream ${id} ended its stream without sending any event`,
      'upstream_error',
      'bad_upstream_response',
    ),
  eventNotJson: (id: string | null) =>
    new UpstreamError(
      502,
      `Upstream ${id} sent a stream event that is not a JSON object`,
      'upstream_error',
      'bad_upstream_response',
    ),
  /** A stream that ended (or went on) in a way its protocol does not allow: cut before its finish, arguments for an unknown call. */
  streamIncomplete: (id: string | null, what: string) =>
    new UpstreamError(502, `Upstream ${id} ${what}`, 'upstream_error', 'upstream_stream_incomplete'),
  /**
   * Anthropic's error envelope (`{"type":"error","error":{"type","message"}}`), before the stream or as
   * its `event: error`, in OpenAI's: Anthropic's error type (overloaded_error, rate_limit_error…) is the
   * code. The status is kept, except 529 (overloaded, Anthropic's own) which becomes 503, the status
   * OpenAI clients know to retry. A stream error has no status of its own: its type chooses one.
   */
  anthropic: (
    id: string,
    status: number | null,
    anthropicType: string | null,
    message: string | undefined,
    headers?: Headers,
  ) => {
    const code = anthropicType && PLAIN_ERROR_TYPE.test(anthropicType) ? anthropicType : null;
    const s = status === null ? (ANTHROPIC_STREAM_STATUS[code ?? ''] ?? 502) : status === 529 ? 503 : status;
    return new UpstreamError(
      s,
      message?.trim().slice(0, 2000) ||
        `Upstream ${id} answered ${status === null ? 'with an error event' : `HTTP ${status}`}${code ? ` (${code})` : ''}`,
      s === 429
        ? 'rate_limit_error'
        : s === 503
          ? 'service_unavailable'
          : s >= 500
            ? 'upstream_error'
            : 'invalid_request_error',
      code ?? `upstream_${s}`,
      undefined,
      headers,
    );
  },
  tooLarge: (id: string, maxBytes: number) =>
    new UpstreamError(
      502,
      `Upstream ${id} sent a response larger than ${maxBytes} bytes (UPSTREAM_MAX_RESPONSE_BYTES); Parley stopped reading it.`,
      'upstream_error',
      'upstream_response_too_large',
    ),
  firstByteTimeout: (id: string) =>
    new UpstreamError(504, `Upstream ${id} did not answer in time`, 'timeout_error', 'upstream_timeout'),
  idleTimeout: (id: string) =>
    new UpstreamError(
      504,
      `Upstream ${id} stopped sending in the middle of its response`,
      'timeout_error',
      'upstream_idle_timeout',
    ),
  unreachable: (id: string, code?: string) =>
    new UpstreamError(
      502,
      `Upstream ${id} is unreachable${code ? ` (${code})` : ''}`,
      'upstream_error',
      'upstream_unreachable',
    ),
  /**
   * The upstream refused Parley's own credentials for it: the operator's configuration, not the
   * client's key, so never a 401 (it would look exactly like a wrong Parley key). `upstreamCode`
   * is the upstream's short code only: its message can quote part of the key.
   */
  credentialsRefused: (id: string, httpStatus: number, upstreamCode: string | null) =>
    new UpstreamError(
      502,
      `Upstream ${id} refused the credentials Parley is configured with for it (HTTP ${httpStatus}${upstreamCode ? `, ${upstreamCode}` : ''}). This is a gateway configuration problem, not your API key: the operator must fix provider ${id}'s API key or access.`,
      'upstream_error',
      'upstream_auth_failed',
    ),
  /** The upstream's own error envelope, passed through verbatim with its status (and retry headers). */
  envelope: (status: number, message: string, type: string, code: string | null, body: string, headers?: Headers) =>
    new UpstreamError(status, message, type as ErrorType, code, body, headers),
  /**
   * Google's error envelope (`{"error":{"code","message","status"}}`, Gemini) in OpenAI's, with the
   * HTTP status kept and Google's status word (RESOURCE_EXHAUSTED, INVALID_ARGUMENT…) as the code.
   */
  google: (id: string, status: number, message: string | undefined, googleStatus: string | null, headers?: Headers) =>
    new UpstreamError(
      status,
      message?.trim().slice(0, 2000) || `Upstream ${id} answered HTTP ${status}`,
      status === 429 ? 'rate_limit_error' : status >= 500 ? 'upstream_error' : 'invalid_request_error',
      googleStatus ?? `upstream_${status}`,
      undefined,
      headers,
    ),
  /** An HTTP error without OpenAI's envelope: its text (cut) becomes the message. */
  httpStatus: (id: string, status: number, text: string, headers?: Headers) =>
    new UpstreamError(
      status,
      text.trim().slice(0, 500) || `Upstream ${id} answered HTTP ${status}`,
      status === 429 ? 'rate_limit_error' : status >= 500 ? 'upstream_error' : 'invalid_request_error',
      `upstream_${status}`,
      undefined,
      headers,
    ),
};
