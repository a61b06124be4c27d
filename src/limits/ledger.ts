/**
 * The spend ledger: the usage records' costs in the database, the source of truth for
 * budgets. A budget counter that the limit store does not have (first use, a restart of an
 * in-process store, a Redis flush) starts from the ledger's sum for its period.
 */
import type pg from 'pg';

export type BudgetScope = 'key' | 'model';

/** Micro-dollars recorded for a key (or a requested model) since `since` (null: ever). */
export type Ledger = (scope: BudgetScope, id: string, since: Date | null) => Promise<number>;

export function databaseLedger(pool: pg.Pool): Ledger {
  return async (scope, id, since) => {
    const column = scope === 'key' ? '"keyId"' : '"requestedModel"';
    const { rows } = await pool.query<{ spent: string }>(
      `SELECT coalesce(sum("costMicros"), 0)::text AS spent FROM "RequestLog"
        WHERE ${column} = $1 AND "createdAt" >= $2`,
      [id, since ?? new Date(0)],
    );
    return Number(rows[0]?.spent ?? 0);
  };
}
