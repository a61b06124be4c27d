/**
 * Bounds the stored responses: every hour (and once at start) those made more than
 * PARLEY_RESPONSES_RETENTION_DAYS ago are deleted. A failed sweep is logged and tried again at
 * the next one; the timer never holds the process open.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { ResponseStore } from './store.js';

export const RETENTION_SWEEP_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface Retention {
  /** Runs one sweep now; resolves with how many responses it deleted (0 after a failure, which is logged). */
  sweep(): Promise<number>;
  stop(): void;
}

export function startRetention(
  store: ResponseStore,
  days: number,
  log: Pick<FastifyBaseLogger, 'info' | 'warn'>,
  everyMs = RETENTION_SWEEP_MS,
): Retention {
  let running: Promise<number> | null = null;
  const sweep = () => {
    running ??= store
      .deleteOlderThan(new Date(Date.now() - days * DAY_MS))
      .then(
        (n) => {
          if (n > 0) log.info({ deleted: n, retentionDays: days }, 'deleted stored responses past their retention');
          return n;
        },
        (err: Error) => {
          log.warn({ err: err.message }, 'deleting expired stored responses failed; retrying at the next sweep');
          return 0;
        },
      )
      .finally(() => {
        running = null;
      });
    return running;
  };
  const timer = setInterval(sweep, everyMs);
  timer.unref();
  void sweep();
  return {
    sweep,
    stop: () => clearInterval(timer),
  };
}
