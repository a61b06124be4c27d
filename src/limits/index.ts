/**
 * Builds what cost and limits need from the settings, the PARLEY_CONFIG file and the store:
 * the price table always (every record gets its cost), and a limiter when any limit can
 * apply (a `limits:` entry, or a database, whose keys may get limits at any time). Counters
 * in Redis when REDIS_URL is set, checked at startup; in this process otherwise.
 */
import type pg from 'pg';
import { type Settings, SettingsError } from '../config/env.js';
import type { FileConfig } from '../config/file.js';
import { PriceTable } from '../cost/cost.js';
import type { Counters } from './counters.js';
import { databaseLedger } from './ledger.js';
import { Limiter, type LimitLog } from './limiter.js';
import { MemoryCounters } from './memory-counters.js';
import { RedisCounters } from './redis-counters.js';
import { hasAny } from './spec.js';

export interface Spend {
  prices: PriceTable;
  limiter: Limiter | null;
  close(): Promise<void>;
}

/** How long startup waits for REDIS_URL to answer. */
const REDIS_STARTUP_MS = 5_000;

export async function createSpend(
  settings: Settings,
  fileConfig: FileConfig,
  pool: pg.Pool | null,
  log: LimitLog,
): Promise<Spend> {
  const prices = new PriceTable(fileConfig.prices);
  const configured = [fileConfig.limits?.keys, fileConfig.limits?.models].some((m) =>
    Object.values(m ?? {}).some(hasAny),
  );
  if (!configured && pool === null) return { prices, limiter: null, close: async () => {} };
  let counters: Counters;
  if (settings.redisUrl) {
    const redis = new RedisCounters({
      url: settings.redisUrl,
      prefix: settings.redisPrefix,
      commandTimeoutMs: settings.redisTimeoutMs,
    });
    try {
      await redis.ready(REDIS_STARTUP_MS);
    } catch (err) {
      await redis.close();
      throw new SettingsError(
        `REDIS_URL: Redis at ${where(settings.redisUrl)} did not answer (${(err as Error).message}); start it, fix REDIS_URL, or unset it to keep limit counters in this process`,
      );
    }
    counters = redis;
  } else {
    counters = new MemoryCounters();
  }
  const limiter = new Limiter({
    counters,
    prices,
    config: fileConfig.limits,
    ledger: pool ? databaseLedger(pool) : null,
    onStoreError: settings.limitsOnRedisError,
    defaultMaxTokens: settings.limitsDefaultMaxTokens,
    log,
  });
  return { prices, limiter, close: () => counters.close() };
}

/** host:port of a Redis URL, never its password. */
function where(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    return '(unparsable URL)';
  }
}
