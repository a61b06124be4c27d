/** Budget periods in UTC: where the current one started and how long its counter must live. */
import type { BudgetPeriod } from './spec.js';

const DAY_MS = 86_400_000;

export interface Period {
  /** Part of the counter's key: a new period is a new counter. */
  id: string;
  /** null: the budget never renews (TOTAL). */
  since: Date | null;
  /** How long the counter must outlive now (0: forever): to the period's end, plus a day. */
  ttlMs: number;
}

export function currentPeriod(p: BudgetPeriod, now = new Date()): Period {
  if (p === 'TOTAL') return { id: 'total', since: null, ttlMs: 0 };
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const since = p === 'DAY' ? new Date(Date.UTC(y, m, now.getUTCDate())) : new Date(Date.UTC(y, m, 1));
  const end = p === 'DAY' ? new Date(since.getTime() + DAY_MS) : new Date(Date.UTC(y, m + 1, 1));
  return {
    id: since.toISOString().slice(0, p === 'DAY' ? 10 : 7),
    since,
    ttlMs: end.getTime() - now.getTime() + DAY_MS,
  };
}
