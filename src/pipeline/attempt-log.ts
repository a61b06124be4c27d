/**
 * One log line per failed upstream attempt, so an operator sees why a request failed over or
 * failed: provider, target, status and cause (ECONNREFUSED, a timeout, the upstream's own
 * message). An upstream that is down, slow, rate-limited or refusing Parley's credentials is
 * the operator's concern (warn); an upstream 4xx about the request itself is the client's
 * mistake (info). No stack: these are expected failures, and the cause says it all.
 */

import { capped } from '../logging/limits.js';
import { ApiError } from '../protocol/errors.js';

/** The part of a (pino) logger this needs; the request's own logger, so the line has its id. */
export interface AttemptLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/**
 * `next` says what happens instead: the next target, "fallback reply", or nothing (the
 * client gets this error). `afterFirstByte`: the stream had started (no failover possible).
 */
export function logAttemptFailure(
  log: AttemptLog,
  err: unknown,
  provider: string | null,
  target: string | null,
  next?: string,
  afterFirstByte = false,
): void {
  const e = err instanceof ApiError ? err : null;
  const status = e?.status ?? 500;
  const line = {
    provider,
    target: capped(target),
    status,
    code: e?.code ?? (err as { code?: unknown } | null)?.code ?? null,
    cause: capped(err instanceof Error ? err.message : String(err)),
    next,
    afterFirstByte: afterFirstByte || undefined,
  };
  if (status < 500 && status !== 429) log.info(line, 'upstream attempt failed: the request was refused');
  else log.warn(line, next ? `upstream attempt failed; trying ${next}` : 'upstream attempt failed');
}
