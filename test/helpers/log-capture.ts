/** A log destination for tests: what Parley writes, kept in memory. */
import { Writable } from 'node:stream';

/** Each write as written (a pino line with its newline). */
export function captureWrites(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { stream, lines };
}

/** Each JSON log line, parsed. */
export function captureJsonLines(): { stream: Writable; lines: Record<string, any>[] } {
  const lines: Record<string, any>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { stream, lines };
}
