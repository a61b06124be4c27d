/**
 * Parley's logger, built in one place: the app's (Fastify uses it as its loggerInstance) and
 * the store's at startup are the same, with the same redaction and the same caps on what a
 * client or upstream chose (logging/limits.ts), writing to the one buffered stdout.
 */
import pino, { type DestinationStream } from 'pino';
import { stdoutDestination } from './destination.js';
import { capLine, cappedErr } from './limits.js';

export function parleyLogger(level: string, stream: DestinationStream = stdoutDestination()): pino.Logger {
  return pino(
    {
      level,
      redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.apiKey'], censor: '[redacted]' },
      // No value a client or upstream chose makes a line long.
      serializers: { err: cappedErr },
      hooks: { streamWrite: capLine },
    },
    stream,
  );
}
