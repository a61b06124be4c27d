/**
 * Where Parley's log lines go: stdout, written in batches.
 *
 * One info line per chat request, each written on its own, cost ~7 % of the request thread
 * under load in the profile (a write syscall per line). Lines are buffered up to
 * LOG_BUFFER_BYTES and written together, and never wait longer than LOG_FLUSH_MS: a quiet
 * server still shows each line within a fraction of a second. pino flushes the buffer
 * synchronously when the process exits, so the last lines (a crash, a shutdown) are kept.
 */
import pino from 'pino';

/** A write happens once this much is buffered... */
const LOG_BUFFER_BYTES = 4096;
/** ...or this long after the previous flush, whichever comes first. */
const LOG_FLUSH_MS = 200;

export type LogDestination = ReturnType<typeof pino.destination>;

/** A buffered destination on `fd` (stdout by default) with its flush timer. */
export function bufferedDestination(fd = 1, flushMs = LOG_FLUSH_MS): LogDestination {
  const dest = pino.destination({ dest: fd, minLength: LOG_BUFFER_BYTES, sync: false });
  // (flush() returns at once while a write is under way; that write takes the buffer along.
  // It throws once the stream is destroyed, which happens before 'close' is emitted.)
  const timer = setInterval(() => {
    if (!(dest as unknown as { destroyed: boolean }).destroyed) dest.flush();
  }, flushMs);
  timer.unref();
  dest.on('close', () => clearInterval(timer));
  return dest;
}

let stdout: LogDestination | undefined;

/** The process's one stdout destination, shared by every logger so lines keep their order. */
export function stdoutDestination(): LogDestination {
  stdout ??= bufferedDestination();
  return stdout;
}
