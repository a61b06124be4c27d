/**
 * Parley's logger, built in one place: the app's (Fastify uses it as its loggerInstance) and
 * the store's at startup are the same, with the same redaction and the same caps on what a
 * client or upstream chose (logging/limits.ts), writing to stdout as JSON or, for a person at a
 * terminal, as readable lines (logging/format.ts).
 */
import pino, { type DestinationStream } from 'pino';
import { logDestination } from './format.js';
import { capLine, cappedErr } from './limits.js';

/** Without `stream`: stdout as LOG_FORMAT's default ("auto") chooses; pass logDestination(settings.logFormat) to honour the setting. */
export function parleyLogger(level: string, stream: DestinationStream = logDestination('auto')): pino.Logger {
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
