/**
 * Upstream base URLs, checked the way undici will read them (WHATWG `new URL`), so a URL
 * that would throw "TypeError: Invalid URL" when a provider is built is refused at startup
 * with a message that says what is wrong instead.
 */
import { FormatRegistry, type StringOptions, Type } from '@sinclair/typebox';

/** Why `value` can't be an upstream base URL, with the fix; null when it can. */
export function httpUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(value)
      ? 'is not a valid URL'
      : `has no scheme: write "http://${value}" (or https://)`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    // "localhost:11434/v1" parses as scheme "localhost:": that is a missing scheme, not an odd one.
    if (!value.includes('://')) return `has no scheme: write "http://${value}" (or https://)`;
    return `must use http:// or https://, not ${url.protocol}//`;
  }
  return null;
}

FormatRegistry.Set('http-url', (value) => httpUrlProblem(value) === null);

/** A TypeBox string that must be an http(s) URL; config errors explain it with httpUrlProblem. */
export const HttpUrl = (options: StringOptions = {}) => Type.String({ ...options, format: 'http-url' });
