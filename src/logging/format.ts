/**
 * What a log line looks like: JSON for machines, or a line a person reads.
 *
 * JSON (pino's own lines, buffered: destination.ts) is what a collector, a file or a pipe
 * wants, and stays the default whenever stdout is not a terminal. On a terminal someone is
 * watching: pino-pretty turns each line into "[time] LEVEL: message {fields}". LOG_FORMAT
 * forces either.
 *
 * The pretty printer sits after pino, so it only ever sees finished lines: keys already
 * redacted and values already capped (logger.ts, limits.ts). It runs in this thread with a
 * synchronous write (a worker transport would lose the last lines of a crash, and a terminal
 * is read at human speed anyway), and only when pretty is chosen: JSON lines pay nothing.
 */
import pino, { type DestinationStream } from 'pino';
import pinoPretty from 'pino-pretty';
import type { Settings } from '../config/env.js';
import { stdoutDestination } from './destination.js';

export type LogFormat = Settings['logFormat'];

/** "auto" is pretty on a terminal, JSON otherwise. */
export function resolveLogFormat(format: LogFormat, isTTY: boolean = process.stdout.isTTY === true): 'json' | 'pretty' {
  if (format !== 'auto') return format;
  return isTTY ? 'pretty' : 'json';
}

/** Writes each finished JSON line as pino-pretty's human-readable line to `out`. */
function prettyDestination(out: { write(text: string): unknown }, colorize: boolean): DestinationStream {
  const pretty = pinoPretty.prettyFactory({
    colorize,
    // One line per event (an error's stack still gets its own lines): a terminal is scanned line by line.
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
  });
  return { write: (line: string) => void out.write(pretty(line)) };
}

let prettyStdout: DestinationStream | undefined;

/**
 * Where Parley's logger writes for `format`: by default stdout — the one buffered destination
 * for JSON, or one synchronous printer for pretty, each shared by every logger so lines keep
 * their order. `out` replaces stdout (tests capture lines with it).
 */
export function logDestination(format: LogFormat, out?: DestinationStream): DestinationStream {
  const pretty = resolveLogFormat(format) === 'pretty';
  if (out) return pretty ? prettyDestination(out, false) : out;
  if (!pretty) return stdoutDestination();
  prettyStdout ??= prettyDestination(pino.destination({ dest: 1, sync: true }), pinoPretty.isColorSupported);
  return prettyStdout;
}
