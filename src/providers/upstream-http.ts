/**
 * HTTP pieces every HTTP provider shares: reading an error body (bounded), the retry headers
 * passed on with a 429 or 5xx, and undici's transport failures mapped to Parley's upstream
 * errors, before the response and while a stream is being read.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { errors as undiciErrors } from 'undici';
import { UpstreamError, upstreamErrors } from './errors.js';

/** The most of an error body read: enough for any provider's envelope. */
const MAX_ERROR_BODY = 64 * 1024;

/** An error response's body as text, at most MAX_ERROR_BODY of it; '' when it cannot be read. */
export async function readErrorText(res: Dispatcher.ResponseData): Promise<string> {
  let text = '';
  try {
    for await (const chunk of res.body) {
      text += chunk.toString();
      if (text.length > MAX_ERROR_BODY) {
        res.body.destroy();
        break;
      }
    }
  } catch {
    /* the status alone is enough */
  }
  return text;
}

/** Maps transport failures while a stream is being read to Parley's upstream errors. */
export async function* guard(events: AsyncIterable<string>, id: string, maxBytes: number): AsyncGenerator<string> {
  try {
    yield* events;
  } catch (err) {
    throw toUpstreamError(err, id, maxBytes);
  }
}

/** What an upstream says about when to try again, passed on with its 429 or 5xx (see httpError). */
export function retryHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> | undefined {
  let out: Record<string, string | string[]> | undefined;
  for (const name in headers) {
    const value = headers[name];
    if (
      value !== undefined &&
      (name === 'retry-after' || name === 'retry-after-ms' || name.startsWith('x-ratelimit-'))
    ) {
      out ??= {};
      out[name] = value;
    }
  }
  return out;
}

/** An upstream error code worth naming to the operator: short and plain, never a message (it may quote the key). */
export const PLAIN_CODE = /^[A-Za-z0-9_.-]{1,64}$/;

/** A transport failure (before or during the response) as Parley answers it. */
export function toUpstreamError(err: unknown, id: string, maxBytes: number): Error {
  if (err instanceof UpstreamError) return err;
  if (err instanceof undiciErrors.ResponseExceededMaxSizeError) {
    return upstreamErrors.tooLarge(id, maxBytes);
  }
  if (err instanceof undiciErrors.HeadersTimeoutError) {
    return upstreamErrors.firstByteTimeout(id);
  }
  if (err instanceof undiciErrors.BodyTimeoutError) {
    return upstreamErrors.idleTimeout(id);
  }
  if ((err as Error)?.name === 'AbortError' || err instanceof undiciErrors.RequestAbortedError) return err as Error;
  const code = (err as { code?: string })?.code;
  return upstreamErrors.unreachable(id, code);
}

/**
 * A whole JSON answer: its text (an OpenAI-compatible body is relayed as received) and its
 * parsed value. A transport failure while reading is mapped as above; text that is not JSON
 * is the upstream's fault (502). What the value must look like is each provider's to check.
 */
export async function readJsonBody(
  res: Dispatcher.ResponseData,
  id: string,
  maxBytes: number,
): Promise<{ text: string; value: unknown }> {
  let text: string;
  try {
    text = await res.body.text();
  } catch (err) {
    throw toUpstreamError(err, id, maxBytes);
  }
  try {
    return { text, value: JSON.parse(text) };
  } catch {
    throw upstreamErrors.notJson(id);
  }
}
