/**
 * OpenAI's error envelope, the one shape every Parley error takes on the chat routes:
 * {"error":{"message","type","param","code"}}. Status codes and `type` values follow
 * what api.openai.com returns, so SDK error classes (BadRequestError, …) map correctly.
 */
import type { ErrorObject } from 'ajv';

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'upstream_error'
  | 'timeout_error'
  | 'service_unavailable'
  | 'insufficient_quota';

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An error that already knows its HTTP status and OpenAI envelope. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: ErrorType,
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
  }

  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }

  /** The response body as sent. */
  toJson(): string {
    return JSON.stringify(this.toBody());
  }
}

/**
 * Parley is shutting down: a request that arrives now is refused, and a stream still open when
 * the grace period ends is cut with this as its abort reason (the client gets an error event).
 * A class, so the reason is told apart from a client disconnect by `instanceof`.
 */
export class ShuttingDownError extends ApiError {
  constructor(message: string) {
    super(503, message, 'service_unavailable', 'shutting_down');
  }
}

/**
 * A refusal by Parley's own limits (limits/limiter.ts): 429 (503 when the limit store is
 * unreachable), with the headers OpenAI's clients read — x-ratelimit-*, retry-after(-ms),
 * and x-should-retry: false where waiting cannot help (an exhausted budget).
 */
export class LimitError extends ApiError {
  constructor(
    status: number,
    message: string,
    type: ErrorType,
    code: string,
    readonly headers: Record<string, string>,
  ) {
    super(status, message, type, code);
  }
}

const INVALID_JSON =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)";

/**
 * Every error Parley raises itself, by name (in the spirit of Fastify's FST_ERR_*): one place
 * holds the status, type, code and wording, so two routes can't word the same failure twice.
 * Upstream failures are UpstreamError (providers/), built where the upstream's answer is read.
 */
export const errors = {
  // Authentication (401): auth/keys.ts, voice/platforms/vapi-credential.ts.
  missingApiKey: () =>
    new ApiError(
      401,
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      'authentication_error',
      'missing_api_key',
    ),
  invalidApiKey: () => new ApiError(401, 'Incorrect API key provided.', 'authentication_error', 'invalid_api_key'),
  revokedApiKey: () =>
    new ApiError(
      401,
      'This API key has been revoked; ask the administrator for a new one.',
      'authentication_error',
      'api_key_revoked',
    ),
  expiredApiKey: () =>
    new ApiError(
      401,
      'This API key has expired; ask the administrator for a new one.',
      'authentication_error',
      'api_key_expired',
    ),
  apiKeyRequired: (why: string) =>
    new ApiError(
      401,
      `Parley has no API key configured, so it answers only requests made directly on its own machine; this one is not (${why}), as with a tunnel such as ngrok or cloudflared or a reverse proxy. ` +
        'Set PARLEY_API_KEYS (or create a database key, see docs/data.md) and send the key as "Authorization: Bearer <key>".',
      'authentication_error',
      'api_key_required',
    ),
  vapiNoCredential: (placeholder: string) =>
    new ApiError(
      401,
      `Vapi sent no credential ("Bearer ${placeholder}"): the assistant's Custom LLM has no credential. ` +
        'Create one holding your Parley key — Vapi dashboard → Provider Credentials → Custom LLM, or POST https://api.vapi.ai/credential ' +
        'with {"provider": "custom-llm", "apiKey": "<your Parley key>"} — and Vapi sends it as "Authorization: Bearer <key>".',
      'authentication_error',
      'vapi_no_credential',
    ),
  /** Retell's WebSocket without a key: Retell sends no headers, so the key goes in the URL. */
  retellMissingKey: () =>
    new ApiError(
      401,
      "You didn't provide an API key. Retell sends no headers: put your Parley key in the WebSocket URL, wss://<parley>/retell/llm-websocket?key=<your key>.",
      'authentication_error',
      'missing_api_key',
    ),
  /** GET /metrics when PARLEY_METRICS_TOKEN is set and the request does not carry it. */
  metricsTokenRequired: () =>
    new ApiError(
      401,
      'GET /metrics needs the metrics token: send PARLEY_METRICS_TOKEN as "Authorization: Bearer <token>" (Prometheus: authorization.credentials in the scrape config).',
      'authentication_error',
      'metrics_token_required',
    ),
  /** The console's admin JSON routes (/admin/*) without the admin key. */
  adminKeyRequired: (configured: boolean) =>
    configured
      ? new ApiError(
          401,
          'This route needs the admin key: send PARLEY_ADMIN_KEY as "Authorization: Bearer <admin key>".',
          'authentication_error',
          'admin_key_required',
        )
      : new ApiError(
          403,
          'Admin routes are disabled: set PARLEY_ADMIN_KEY and send it as "Authorization: Bearer <admin key>".',
          'permission_error',
          'admin_disabled',
        ),
  // The request (4xx).
  modelNotAllowed: (model: string) =>
    new ApiError(
      403,
      `This API key may not use the model \`${echoed(model)}\`.`,
      'permission_error',
      'model_not_allowed',
      'model',
    ),
  modelNotFound: (model: string, available?: string) =>
    new ApiError(
      404,
      `The model \`${echoed(model)}\` does not exist or you do not have access to it.${available ? ` The models this server routes are: ${available}.` : ''}`,
      'invalid_request_error',
      'model_not_found',
      'model',
    ),
  unknownUrl: (method: string, path: string) =>
    new ApiError(
      404,
      `Unknown request URL: ${method} ${echoed(path)}. Please check the URL for typos.`,
      'invalid_request_error',
      'unknown_url',
    ),
  jsonTooDeep: (param: string, limit: number) =>
    new ApiError(
      400,
      `Invalid '${param}': the request nests objects and arrays deeper than ${limit} levels, the most Parley accepts.`,
      'invalid_request_error',
      'json_too_deep',
      param,
    ),
  invalidParameter: (message: string, code: string, param: string | null) =>
    new ApiError(400, message, 'invalid_request_error', code, param),
  // The Responses API (protocols/responses/).
  responseNotFound: (id: string) =>
    new ApiError(404, `Response with id '${echoed(id)}' not found.`, 'invalid_request_error', 'response_not_found'),
  previousResponseNotFound: (id: string) =>
    new ApiError(
      404,
      `Previous response with id '${echoed(id)}' not found.`,
      'invalid_request_error',
      'previous_response_not_found',
      'previous_response_id',
    ),
  /** A hosted or freeform tool: a chat upstream has nothing to run it, and dropping it would silently change the answer. */
  toolNotSupported: (type: string, param: string) =>
    new ApiError(
      400,
      `Tool type '${echoed(type)}' (${param}) is not supported by Parley: it runs on OpenAI's own servers or needs a freeform grammar, and Parley carries the request to chat upstreams, which have neither. Use function tools (type "function") instead.`,
      'invalid_request_error',
      'unsupported_tool',
      param,
    ),
  inputItemNotSupported: (type: string, param: string) =>
    new ApiError(
      400,
      `Input item type '${echoed(type)}' (${param}) is not supported by Parley, which carries the conversation to chat upstreams: send messages, function_call, function_call_output or reasoning items.`,
      'invalid_request_error',
      'unsupported_input_item',
      param,
    ),
  /** A valid OpenAI request the routed provider has no way to carry (n > 1 on Gemini, a custom tool). */
  unsupportedByProvider: (provider: string, param: string, what: string) =>
    new ApiError(
      400,
      `Invalid '${param}': ${what}, which provider ${provider} cannot do.`,
      'invalid_request_error',
      'unsupported_parameter',
      param,
    ),
  /** An image a provider needs as bytes that Parley could not use: not fetched, too large, not an image. */
  imageUnusable: (param: string, why: string) =>
    new ApiError(400, `Invalid '${param}': ${why}.`, 'invalid_request_error', 'invalid_image_url', param),
  invalidJson: () => new ApiError(400, INVALID_JSON, 'invalid_request_error', 'invalid_json'),
  emptyBody: () =>
    new ApiError(400, 'The request body is empty; send a JSON object.', 'invalid_request_error', 'invalid_json'),
  bodyTooLarge: () =>
    new ApiError(
      413,
      'The request body is larger than this server accepts.',
      'invalid_request_error',
      'request_too_large',
    ),
  unsupportedMediaType: (contentType: string) =>
    new ApiError(
      415,
      `Unsupported Content-Type ${JSON.stringify(echoed(contentType))}: send application/json.`,
      'invalid_request_error',
      'unsupported_media_type',
    ),
  /** Another 4xx Fastify raised (its own code and message, which name no client value at length). */
  badRequest: (status: number, message: string, code: string | null) =>
    new ApiError(status, message, 'invalid_request_error', code),
  // Idempotency-Key (voice/idempotency/).
  invalidIdempotencyKey: () =>
    new ApiError(
      400,
      'The Idempotency-Key header must be 1 to 255 visible ASCII characters (a UUID, for instance).',
      'invalid_request_error',
      'invalid_idempotency_key',
    ),
  idempotencyKeyReused: () =>
    new ApiError(
      422,
      'This Idempotency-Key was already used with a different request body; an idempotent retry must send the same body, or a new key.',
      'invalid_request_error',
      'idempotency_key_reused',
    ),
  // Receiving the request (http/client-errors.ts).
  bodyTimedOut: (ms?: number) =>
    new ApiError(
      408,
      ms === undefined
        ? 'The request did not fully arrive in time (PARLEY_BODY_TIMEOUT_MS).'
        : `The request did not fully arrive within ${ms} ms (PARLEY_BODY_TIMEOUT_MS); the connection is closed.`,
      'invalid_request_error',
      'request_timeout',
    ),
  headersTooLarge: () =>
    new ApiError(
      431,
      'The request headers are larger than this server accepts.',
      'invalid_request_error',
      'request_header_fields_too_large',
    ),
  notHttp: () => new ApiError(400, 'The request is not valid HTTP/1.1.', 'invalid_request_error', 'bad_request'),
  /**
   * The client closed its connection while its body was still arriving (an abandoned upload):
   * recorded as a client abort (499, as nginx logs it), never sent.
   */
  clientClosed: () =>
    new ApiError(
      499,
      'The client closed the connection before its request arrived.',
      'invalid_request_error',
      'client_closed_request',
    ),
  // Parley's limits (429; 503 when the limit store is unreachable): limits/limiter.ts.
  rateLimited: (what: 'requests' | 'tokens', limit: number, scope: string, headers: Record<string, string>) =>
    new LimitError(
      429,
      `Rate limit reached for ${scope} on ${what} per minute: limit ${limit}. Retry after the time in the retry-after header.`,
      'rate_limit_error',
      'rate_limit_exceeded',
      headers,
    ),
  requestTooLarge: (tokens: number, limit: number, scope: string, headers: Record<string, string>) =>
    new LimitError(
      429,
      `Request too large for ${scope}: it may use ${tokens} tokens (prompt estimate + max_tokens), more than the limit of ${limit} tokens per minute. Send a smaller request or a lower max_tokens.`,
      'rate_limit_error',
      'rate_limit_exceeded',
      { ...headers, 'x-should-retry': 'false' },
    ),
  tooManyParallel: (limit: number, scope: string, headers: Record<string, string>) =>
    new LimitError(
      429,
      `Too many requests in progress for ${scope}: at most ${limit} at a time. Retry when one has finished.`,
      'rate_limit_error',
      'too_many_parallel_requests',
      headers,
    ),
  budgetExhausted: (scope: string, budgetUsd: number, period: string, headers: Record<string, string>) =>
    new LimitError(
      429,
      `You exceeded your current quota: the budget of $${budgetUsd} ${period === 'TOTAL' ? 'in total' : `per ${period.toLowerCase()}`} for ${scope} is spent (or this request could exceed it). Ask the administrator to raise it.`,
      'insufficient_quota',
      'insufficient_quota',
      { ...headers, 'x-should-retry': 'false' },
    ),
  unpricedModel: (model: string, scope: string) =>
    new LimitError(
      400,
      `The model \`${echoed(model)}\` has no price, so ${scope}'s budget cannot be kept: add it under prices: in PARLEY_CONFIG.`,
      'invalid_request_error',
      'model_not_priced',
      {},
    ),
  limitsUnavailable: () =>
    new LimitError(
      503,
      "Parley cannot check this key's limits right now (its limit store, Redis, is unreachable); retry shortly.",
      'service_unavailable',
      'limits_unavailable',
      { 'retry-after': '1', 'retry-after-ms': '1000' },
    ),
  // Parley itself (5xx).
  shuttingDown: () => new ShuttingDownError('Parley is shutting down; retry on another instance.'),
  streamShutDown: () => new ShuttingDownError('Parley is shutting down; the stream was ended before it finished.'),
  internal: () => new ApiError(500, 'The server had an error while processing your request.', 'server_error', null),
};

/** Anything thrown, as the error the client gets: an ApiError as it is, anything else a 500 that reveals nothing. */
export function toApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : errors.internal();
}

/** Longest client-supplied value an error message repeats: a 10 MB model name must not come back as a 10 MB error. */
const MAX_ECHOED_CHARS = 256;

/** A client-supplied value as an error message quotes it, cut to MAX_ECHOED_CHARS with an ellipsis. */
export function echoed(value: unknown): string {
  const s = String(value);
  return s.length > MAX_ECHOED_CHARS ? `${s.slice(0, MAX_ECHOED_CHARS)}…` : s;
}

export function errorBody(
  message: string,
  type: ErrorType,
  code: string | null = null,
  param: string | null = null,
): ErrorBody {
  return { error: { message, type, param, code } };
}

/**
 * "/messages/0/content" → "messages.[0].content", as OpenAI writes `param`. A number is an
 * index only where the body has an array (logit_bias's keys are numbers too: "logit_bias.50256").
 */
function paramFromPointer(pointer: string, body?: unknown): string | null {
  if (!pointer) return null;
  let cur = body;
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => {
      const index = /^\d+$/.test(p) && (body === undefined || Array.isArray(cur));
      cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
      return index ? `[${p}]` : p;
    })
    .join('.');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a decimal';
  return typeof value;
}

function valueAt(root: unknown, pointer: string): unknown {
  let cur = root;
  for (const part of pointer.split('/').slice(1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Errors that say only that no branch matched, or which type was expected: the least specific. */
const VAGUENESS: Record<string, number> = { oneOf: 2, anyOf: 2, type: 1 };

/**
 * Ajv reports every branch of a oneOf; the most useful error is the one that reached
 * deepest into the document, so a bad `messages[2].tool_calls[0].function` names that
 * field rather than "must match exactly one schema" on `messages[2]`. At the same depth a
 * limit the value broke (`stop` with five items: maxItems) says more than the type another
 * branch wanted (a string), which says more than "no branch matched".
 */
function pickAjvError(errors: ErrorObject[]): ErrorObject {
  let best = errors[0]!;
  const depth = (e: ErrorObject) =>
    e.instancePath.split('/').length + (e.keyword === 'required' || e.keyword === 'additionalProperties' ? 1 : 0);
  const vagueness = (e: ErrorObject) => VAGUENESS[e.keyword] ?? 0;
  for (const e of errors) {
    if (depth(e) > depth(best) || (depth(e) === depth(best) && vagueness(e) < vagueness(best))) best = e;
  }
  return best;
}

/** Ajv's error with `verbose: true` (the app's setting): the failing value and the schema that holds the keyword. */
type VerboseError = ErrorObject & { parentSchema?: { type?: unknown }; propertyName?: string };

/** OpenAI's word for a number parameter: "integer" when the schema wants one, else "decimal". */
function numberKind(e: VerboseError): 'integer' | 'decimal' {
  const t = e.parentSchema?.type;
  return t === 'integer' || (Array.isArray(t) && t.includes('integer')) ? 'integer' : 'decimal';
}

/** The values a discriminated union's tag may take (each branch's `const`), for the error message. */
function tagsOf(schema: unknown, tag: string): string[] {
  const branches = (schema as { oneOf?: { properties?: Record<string, { const?: unknown }> }[] } | undefined)?.oneOf;
  return (branches ?? []).map((b) => b.properties?.[tag]?.const).filter((c): c is string => typeof c === 'string');
}

/** Turns an Ajv validation failure of the request body into OpenAI's 400, worded and coded as OpenAI words them. */
export function validationError(ajvErrors: ErrorObject[], body: unknown): ApiError {
  const e = pickAjvError(ajvErrors) as VerboseError;
  let pointer = e.instancePath;
  let message: string;
  let code = 'invalid_value';
  const p = e.params as Record<string, unknown>;
  const param = () => paramFromPointer(pointer, body);
  const name = () => param() ?? 'body';
  switch (e.keyword) {
    case 'required':
      pointer = `${pointer}/${String(p.missingProperty)}`;
      message = `Missing required parameter: '${param()}'.`;
      code = 'missing_required_parameter';
      break;
    case 'type': {
      const got = describe(valueAt(body, pointer));
      message = `Invalid type for '${name()}': expected ${String(p.type).replace(/,/g, ' or ')}, but got ${got} instead.`;
      break;
    }
    case 'discriminator': {
      const tag = String(p.tag);
      pointer = `${pointer}/${tag}`;
      const v = valueAt(body, pointer);
      const tags = tagsOf(e.parentSchema, tag);
      message =
        v === undefined
          ? `Missing required parameter: '${param()}'.`
          : tags.length > 0
            ? `Invalid value for '${param()}': '${echoed(v)}'. Supported values are: ${tags.map((t) => `'${t}'`).join(', ')}.`
            : `Invalid value: '${echoed(v)}'. Supported values for '${param()}' are not matched.`;
      if (tag === 'role' && v !== undefined) {
        message = `Invalid value: '${echoed(v)}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`;
      }
      break;
    }
    case 'enum':
      message = `Invalid value: '${echoed(valueAt(body, pointer))}'. Supported values are: ${(p.allowedValues as unknown[]).map((v) => `'${String(v)}'`).join(', ')}.`;
      break;
    case 'minItems':
      message =
        Array.isArray(valueAt(body, pointer)) && (valueAt(body, pointer) as unknown[]).length === 0
          ? `Invalid '${param()}': empty array. Expected an array with minimum length ${String(p.limit)}, but got an empty array instead.`
          : `Invalid '${param()}': array too short. Expected an array with minimum length ${String(p.limit)}.`;
      break;
    case 'maxItems': {
      const v = valueAt(body, pointer);
      message = `Invalid '${name()}': array too long. Expected an array with maximum length ${String(p.limit)}, but got an array with length ${Array.isArray(v) ? v.length : '?'} instead.`;
      code = 'array_above_max_length';
      break;
    }
    case 'maxLength': {
      const v = e.propertyName ?? valueAt(body, pointer);
      const what = e.propertyName === undefined ? 'string too long' : `key '${echoed(e.propertyName)}' too long`;
      message = `Invalid '${name()}': ${what}. Expected a string with maximum length ${String(p.limit)}, but got a string with length ${typeof v === 'string' ? v.length : '?'} instead.`;
      code = 'string_above_max_length';
      break;
    }
    case 'maxProperties': {
      const v = valueAt(body, pointer);
      message = `Invalid '${name()}': too many properties. Expected an object with at most ${String(p.limit)} properties, but got ${v && typeof v === 'object' ? Object.keys(v).length : '?'} instead.`;
      code = 'object_above_max_properties';
      break;
    }
    case 'pattern':
      message = `Invalid '${name()}': string does not match pattern. Expected a string that matches the pattern '${String(p.pattern)}'.`;
      break;
    case 'maximum':
    case 'minimum':
    case 'exclusiveMaximum':
    case 'exclusiveMinimum': {
      const kind = numberKind(e);
      const above = e.keyword.includes('aximum');
      message = `Invalid '${name()}': ${kind} ${above ? 'above maximum' : 'below minimum'} value. Expected a value ${String(p.comparison)} ${String(p.limit)}, but got ${echoed(valueAt(body, pointer))} instead.`;
      code = `${kind}_${above ? 'above_max' : 'below_min'}_value`;
      break;
    }
    default:
      message = `Invalid '${name()}': ${e.message ?? 'invalid value'}.`;
  }
  return errors.invalidParameter(message, code, param());
}
