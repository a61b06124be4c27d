/**
 * Limit counters in this process: exact for one replica (JavaScript runs one acquire at a
 * time, so check-and-add cannot interleave). With several replicas each counts alone: set
 * REDIS_URL (./redis-counters.ts).
 */
import { type Acquired, type Charge, type CounterState, type Counters, GAUGE_TTL_MS } from './counters.js';

interface Entry {
  value: number;
  /** Date.now() after which the entry is gone; Infinity: never. */
  expiresAt: number;
}

/** How often passed windows are swept away. */
const SWEEP_MS = 60_000;

export class MemoryCounters implements Counters {
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  private live(key: string, now: number): Entry | undefined {
    const e = this.entries.get(key);
    if (e && e.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  async acquire(charges: Charge[]): Promise<Acquired> {
    const now = this.now();
    const states: CounterState[] = [];
    let ok = true;
    for (let i = 0; i < charges.length; i++) {
      const c = charges[i]!;
      let key = c.key;
      let resetMs = 0;
      if (c.kind === 'window') {
        const start = now - (now % c.windowMs);
        key = `${c.key}:${start}`;
        resetMs = start + c.windowMs - now;
      }
      const e = this.live(key, now);
      if (c.kind === 'budget' && !e) return { seed: i };
      const before = e?.value ?? 0;
      if (before + c.amount > c.limit) ok = false;
      states.push({ key, before, resetMs });
    }
    if (!ok) return { ok, states };
    for (let i = 0; i < charges.length; i++) {
      const c = charges[i]!;
      const s = states[i]!;
      const e = this.live(s.key, now);
      const expiresAt =
        c.kind === 'window' ? now + s.resetMs : c.kind === 'gauge' ? now + GAUGE_TTL_MS : (e?.expiresAt ?? Infinity);
      this.entries.set(s.key, { value: (e?.value ?? 0) + c.amount, expiresAt });
    }
    return { ok, states };
  }

  async seed(key: string, micros: number, ttlMs: number): Promise<void> {
    const now = this.now();
    if (this.live(key, now)) return;
    this.entries.set(key, { value: micros, expiresAt: ttlMs > 0 ? now + ttlMs : Infinity });
  }

  async adjust(deltas: { key: string; delta: number }[]): Promise<void> {
    const now = this.now();
    for (const { key, delta } of deltas) {
      const e = this.live(key, now);
      if (e) e.value = Math.max(0, e.value + delta);
    }
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}
