/**
 * Caps on what a log line may carry. Clients and upstreams choose model names, error messages
 * and bodies; logged as they are, a 10 MB model name made a 20 MB log line (its JSON, plus
 * the copy in the error message).
 *
 * Three layers, cheapest first:
 * - values Parley logs on every request that a client or upstream chose are cut to
 *   MAX_LOGGED_CHARS where they are logged (`capped`, http/chat/record.ts): a length comparison each;
 * - the `err` serializer cuts an error's message and stack (errors are rare; upstream and
 *   database errors can quote what they were sent);
 * - every line is checked once more as it is written (`capLine`): one length comparison per
 *   line. A line longer than MAX_LOG_LINE_CHARS — something nobody capped — is replaced by a
 *   short, valid JSON line that keeps its level, time and beginning.
 */
import pino from 'pino';

/** Longest string value a log line carries in full. */
export const MAX_LOGGED_CHARS = 1024;
/** Longest log line written as it is. */
export const MAX_LOG_LINE_CHARS = 16 * 1024;
/** How much of an over-long line is kept. */
const KEPT_CHARS = 2048;

/** The value, or its first MAX_LOGGED_CHARS characters and how long it was. */
export function capped<T extends string | null | undefined>(value: T): T | string {
  if (typeof value !== 'string' || value.length <= MAX_LOGGED_CHARS) return value;
  return `${value.slice(0, MAX_LOGGED_CHARS)}… [${value.length} characters]`;
}

/** pino's standard error serializer, with message and stack capped. */
export function cappedErr(err: Error): ReturnType<typeof pino.stdSerializers.err> {
  const out = pino.stdSerializers.err(err);
  if (out && typeof out === 'object') {
    out.message = capped(out.message);
    out.stack = capped(out.stack);
  }
  return out;
}

/** pino's streamWrite hook: lines within the cap pass untouched. */
export function capLine(line: string): string {
  if (line.length <= MAX_LOG_LINE_CHARS) return line;
  // pino starts every line with {"level":…,"time":…: keep them so the line is still routed and sorted.
  const head = /^\{"level":(\d+|"[a-z]+"),"time":(\d+|"[^"]*")/.exec(line);
  const level = head?.[1] ?? '50';
  const time = head?.[2] ?? String(Date.now());
  return `{"level":${level},"time":${time},"msg":"log line cut: it was ${line.length} characters","truncated":true,"head":${JSON.stringify(line.slice(0, KEPT_CHARS))}}\n`;
}
