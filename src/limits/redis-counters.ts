/**
 * Limit counters in Redis, shared by every replica (REDIS_URL). Each acquire is ONE Lua
 * script, run atomically by Redis (EVALSHA; ioredis loads it again after a SCRIPT FLUSH):
 * it reads Redis' own clock (TIME, so replicas' clocks never disagree about a window), checks
 * every counter the request touches and adds to all of them only if all have room. The end
 * of a request is one more script (adjust). Keys carry PARLEY_REDIS_PREFIX, so several
 * deployments (or test runs) can share one Redis. Single Redis node: the script computes
 * window keys it does not declare, which Redis Cluster would refuse.
 *
 * Redis unreachable: commands fail at once (no offline queue) or after `commandTimeoutMs`,
 * and the limiter decides (budgets fail closed, rate limits per PARLEY_LIMITS_ON_REDIS_ERROR).
 * Adjustments that could not be sent are kept (bounded) and sent when Redis is back, so a
 * parallel-request slot is given back and a reservation reconciled exactly once.
 */
import { Redis } from 'ioredis';
import type { Acquired, Charge, CounterState, Counters } from './counters.js';
import { GAUGE_TTL_MS } from './counters.js';

const KIND = { window: 1, gauge: 2, budget: 3 } as const;

// ARGV: gauge TTL, then per charge: kind, key, limit, amount, window length (ms).
// Returns {status, now, key1, before1, reset1, …}: status 0 added, 1 refused (nothing added),
// 2 the budget at index `now` needs its seed.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local gaugeTtl = tonumber(ARGV[1])
local n = (#ARGV - 1) / 5
local keys, before, reset = {}, {}, {}
local ok = true
for i = 1, n do
  local o = 2 + (i - 1) * 5
  local kind = tonumber(ARGV[o])
  local key = ARGV[o + 1]
  local r = 0
  if kind == 1 then
    local w = tonumber(ARGV[o + 4])
    local start = now - (now % w)
    key = key .. ':' .. start
    r = start + w - now
  elseif kind == 3 and redis.call('EXISTS', key) == 0 then
    return {2, i - 1}
  end
  local cur = tonumber(redis.call('GET', key) or '0')
  keys[i] = key; before[i] = cur; reset[i] = r
  if cur + tonumber(ARGV[o + 3]) > tonumber(ARGV[o + 2]) then ok = false end
end
if ok then
  for i = 1, n do
    local o = 2 + (i - 1) * 5
    local kind = tonumber(ARGV[o])
    redis.call('INCRBY', keys[i], ARGV[o + 3])
    if kind == 1 then redis.call('PEXPIRE', keys[i], reset[i] + 1000)
    elseif kind == 2 then redis.call('PEXPIRE', keys[i], gaugeTtl) end
  end
end
local out = {ok and 0 or 1, now}
for i = 1, n do out[#out + 1] = keys[i]; out[#out + 1] = before[i]; out[#out + 1] = reset[i] end
return out
`;

// ARGV: key, delta, key, delta, …; only counters that still exist; never below 0.
const ADJUST = `
for i = 1, #ARGV, 2 do
  local key = ARGV[i]
  if redis.call('EXISTS', key) == 1 then
    local v = redis.call('INCRBY', key, ARGV[i + 1])
    if v < 0 then redis.call('SET', key, 0, 'KEEPTTL') end
  end
end
return 0
`;

// KEYS[1]; ARGV: value, ttl (ms, 0: none). Set only if absent (another replica may have seeded it).
const SEED = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else redis.call('SET', KEYS[1], ARGV[1]) end
return 1
`;

/** Adjustments kept while Redis is unreachable; beyond this the oldest are dropped (their windows have passed anyway). */
const MAX_PENDING = 10_000;

interface LimitCommands {
  parleyAcquire(...args: (string | number)[]): Promise<(string | number)[]>;
  parleyAdjust(...args: (string | number)[]): Promise<number>;
  parleySeed(key: string, value: number, ttl: number): Promise<number>;
}

export interface RedisCountersOptions {
  url: string;
  prefix: string;
  /** Longest one command may take before it counts as Redis being unavailable. */
  commandTimeoutMs: number;
  onError?: (err: Error) => void;
}

export class RedisCounters implements Counters {
  private readonly redis: Redis & LimitCommands;
  private pending: { key: string; delta: number }[] = [];
  private flushing = false;

  constructor(private readonly opts: RedisCountersOptions) {
    const redis = new Redis(opts.url, {
      enableOfflineQueue: false,
      commandTimeout: opts.commandTimeoutMs,
      connectTimeout: Math.max(opts.commandTimeoutMs, 1000),
      maxRetriesPerRequest: 0,
      // Keep reconnecting, at most a second apart: limits come back as soon as Redis does.
      retryStrategy: (times) => Math.min(times * 100, 1000),
      lazyConnect: false,
    });
    redis.defineCommand('parleyAcquire', { numberOfKeys: 0, lua: ACQUIRE });
    redis.defineCommand('parleyAdjust', { numberOfKeys: 0, lua: ADJUST });
    redis.defineCommand('parleySeed', { numberOfKeys: 1, lua: SEED });
    redis.on('error', (err: Error) => opts.onError?.(err));
    redis.on('ready', () => void this.flushPending());
    this.redis = redis as Redis & LimitCommands;
  }

  /** Resolves once connected (startup checks REDIS_URL with it); rejects after `ms`. */
  async ready(ms: number): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.redis.off('ready', onReady);
        reject(new Error(`no answer within ${ms} ms`));
      }, ms);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.redis.once('ready', onReady);
    });
  }

  async acquire(charges: Charge[]): Promise<Acquired> {
    const args: (string | number)[] = [GAUGE_TTL_MS];
    for (const c of charges)
      args.push(KIND[c.kind], this.opts.prefix + c.key, c.limit, c.amount, c.kind === 'window' ? c.windowMs : 0);
    const out = await this.redis.parleyAcquire(...args);
    if (Number(out[0]) === 2) return { seed: Number(out[1]) };
    const states: CounterState[] = [];
    for (let i = 2; i < out.length; i += 3)
      states.push({ key: String(out[i]), before: Number(out[i + 1]), resetMs: Number(out[i + 2]) });
    return { ok: Number(out[0]) === 0, states };
  }

  async seed(key: string, micros: number, ttlMs: number): Promise<void> {
    await this.redis.parleySeed(this.opts.prefix + key, micros, ttlMs);
  }

  /** `deltas` name the store's keys as acquire returned them (prefixed already). */
  async adjust(deltas: { key: string; delta: number }[]): Promise<void> {
    if (deltas.length === 0) return;
    try {
      await this.redis.parleyAdjust(...deltas.flatMap((d) => [d.key, d.delta]));
    } catch (err) {
      this.keep(deltas);
      throw err;
    }
  }

  private keep(deltas: { key: string; delta: number }[]): void {
    this.pending.push(...deltas);
    if (this.pending.length > MAX_PENDING) this.pending.splice(0, this.pending.length - MAX_PENDING);
  }

  private async flushPending(): Promise<void> {
    if (this.flushing || this.pending.length === 0) return;
    this.flushing = true;
    const batch = this.pending;
    this.pending = [];
    try {
      await this.redis.parleyAdjust(...batch.flatMap((d) => [d.key, d.delta]));
    } catch {
      this.keep(batch);
    } finally {
      this.flushing = false;
    }
  }

  async close(): Promise<void> {
    await this.flushPending();
    this.redis.disconnect();
  }
}
