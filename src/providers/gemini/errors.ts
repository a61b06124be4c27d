/**
 * Gemini's failures as Parley's upstream errors: Google's envelope
 * `{"error":{"code":429,"message":…,"status":"RESOURCE_EXHAUSTED","details":[…]}}` becomes
 * OpenAI's with the status kept, and a refused API key becomes `credentialsRefused` (502).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { type UpstreamError, upstreamErrors } from '../errors.js';
import { PLAIN_CODE, readErrorText, retryHeaders } from '../upstream-http.js';
import type { GoogleError } from './wire.js';

/**
 * Google answers a wrong key with 400 INVALID_ARGUMENT and reason API_KEY_INVALID (not 401),
 * a missing or unauthorised one with 403 PERMISSION_DENIED: both are Parley's configuration.
 */
const KEY_REASONS = new Set(['API_KEY_INVALID', 'API_KEY_SERVICE_BLOCKED', 'API_KEY_HTTP_REFERRER_BLOCKED']);

/** An HTTP error response from Gemini, before any body byte reached the client. */
export async function httpError(res: Dispatcher.ResponseData, id: string): Promise<UpstreamError> {
  const text = await readErrorText(res);
  const status = res.statusCode >= 400 && res.statusCode <= 599 ? res.statusCode : 502;
  let parsed: { error?: GoogleError } | undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const e = parsed?.error && typeof parsed.error === 'object' ? parsed.error : undefined;
  if (!e) {
    if (status === 401 || status === 403) return upstreamErrors.credentialsRefused(id, status, null);
    const headers = status === 429 || status >= 500 ? retryHeaders(res.headers) : undefined;
    return upstreamErrors.httpStatus(id, status, text, headers);
  }
  return googleError(e, id, status, res.headers);
}

/** Google's error object (from an error response, or in the middle of a stream) as an UpstreamError. */
export function googleError(
  e: GoogleError,
  id: string,
  httpStatus?: number,
  responseHeaders?: IncomingHttpHeaders,
): UpstreamError {
  const status = validStatus(httpStatus) ?? validStatus(e.code) ?? 502;
  const googleStatus = typeof e.status === 'string' && PLAIN_CODE.test(e.status) ? e.status : null;
  const reason = (Array.isArray(e.details) ? e.details : []).find((d) => typeof d?.reason === 'string')?.reason;
  if (status === 401 || status === 403 || (reason && KEY_REASONS.has(reason))) {
    // Google's message can quote the key: only the short code goes back.
    const code = reason && PLAIN_CODE.test(reason) ? reason : googleStatus;
    return upstreamErrors.credentialsRefused(id, status, code);
  }
  let headers = status === 429 || status >= 500 ? retryHeaders(responseHeaders ?? {}) : undefined;
  if (status === 429 && !headers?.['retry-after']) {
    // Gemini tells when to retry in the body (google.rpc.RetryInfo, "retryDelay": "37s"),
    // not in a header; SDKs read retry-after, so it becomes one.
    const delay = retryDelaySeconds(e);
    if (delay !== undefined) headers = { ...headers, 'retry-after': String(delay) };
  }
  return upstreamErrors.google(
    id,
    status,
    typeof e.message === 'string' ? e.message : undefined,
    googleStatus,
    headers,
  );
}

function validStatus(n: unknown): number | undefined {
  return typeof n === 'number' && Number.isInteger(n) && n >= 400 && n <= 599 ? n : undefined;
}

function retryDelaySeconds(e: GoogleError): number | undefined {
  for (const d of Array.isArray(e.details) ? e.details : []) {
    const m = typeof d?.retryDelay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(d.retryDelay) : null;
    if (m) return Math.ceil(Number(m[1]));
  }
  return undefined;
}
