/**
 * Where limit counters live: in this process (./memory-counters.ts, the default: one replica)
 * or in Redis (./redis-counters.ts, REDIS_URL: every replica shares them). Both give the same
 * answers; the limiter (./limiter.ts) knows only this interface.
 *
 * One `acquire` checks every counter a request touches and, only if all of them have room,
 * adds to all of them — atomically, with the store's own clock: so N concurrent requests
 * against a limit of 10 can never make 11, on one replica or many.
 */

/** A counter one request adds to. */
export type Charge =
  /** A fixed window of `windowMs`, aligned to the store's clock (requests or tokens per minute). */
  | { kind: 'window'; key: string; windowMs: number; limit: number; amount: number }
  /** Requests in progress: taken now, given back when the request ends. */
  | { kind: 'gauge'; key: string; limit: number; amount: number }
  /**
   * Spend in micro-dollars for one budget period (the key names the period). Absent from the
   * store, it is first seeded from the ledger (the usage records), see `seed`.
   */
  | { kind: 'budget'; key: string; limit: number; amount: number };

/** A counter after the acquire (or as found, when refused). */
export interface CounterState {
  /** The store's key, the window's own for a window: what to adjust later. */
  key: string;
  /** The count before this request's amount was added. */
  before: number;
  /** Milliseconds until the window starts over (windows only; 0 otherwise). */
  resetMs: number;
}

export type Acquired =
  /** `ok`: every amount was added. Else nothing was added. */
  | { ok: boolean; states: CounterState[] }
  /** The budget charge at this index has no counter yet: seed it from the ledger, then acquire again. */
  | { seed: number };

export interface Counters {
  acquire(charges: Charge[]): Promise<Acquired>;
  /** Sets a budget counter to the ledger's sum, unless another replica has just done so; it expires after `ttlMs` (0: never). */
  seed(key: string, micros: number, ttlMs: number): Promise<void>;
  /** Adds each delta to its counter if the counter still exists (a window that has passed is left alone); never below 0. */
  adjust(deltas: { key: string; delta: number }[]): Promise<void>;
  close(): Promise<void>;
}

/** How long a gauge outlives its last change: a slot a crashed replica held frees itself after this. */
export const GAUGE_TTL_MS = 3_600_000;
