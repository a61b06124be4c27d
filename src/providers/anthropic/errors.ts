/**
 * Anthropic's HTTP errors (before any byte of the answer) as Parley's upstream errors: the
 * envelope `{"type":"error","error":{"type","message"}}` becomes OpenAI's with the status kept
 * (529 overloaded → 503); a 401/403 is Parley's own key refused (502 upstream_auth_failed,
 * never mistaken for the client's key); a 429's or 5xx's retry-after goes back to the client.
 */
import type { Dispatcher } from 'undici';
import { type UpstreamError, upstreamErrors } from '../errors.js';
import { PLAIN_CODE, readErrorText, retryHeaders } from '../upstream-http.js';

export async function anthropicHttpError(res: Dispatcher.ResponseData, id: string): Promise<UpstreamError> {
  const text = await readErrorText(res);
  const status = res.statusCode >= 400 && res.statusCode <= 599 ? res.statusCode : 502;
  let e: { type?: unknown; message?: unknown } | undefined;
  try {
    const parsed = JSON.parse(text) as { type?: unknown; error?: { type?: unknown; message?: unknown } } | null;
    if (parsed?.type === 'error' && parsed.error && typeof parsed.error === 'object') e = parsed.error;
  } catch {
    e = undefined;
  }
  const type = typeof e?.type === 'string' ? e.type : null;
  if (status === 401 || status === 403)
    return upstreamErrors.credentialsRefused(id, status, type && PLAIN_CODE.test(type) ? type : null);
  const headers = status === 429 || status >= 500 ? retryHeaders(res.headers) : undefined;
  if (!e) return upstreamErrors.httpStatus(id, status === 529 ? 503 : status, text, headers);
  return upstreamErrors.anthropic(id, status, type, typeof e.message === 'string' ? e.message : undefined, headers);
}
