/**
 * usageSeries(from, to, interval, groupBy): usage over time, for the console's charts. The same
 * rows and sums as usage(…) (./usage.ts), cut into UTC intervals: a chart's totals equal the
 * usage numbers for the same range. Admin key only.
 */
import type { IResolvers } from 'mercurius';
import { requireAdmin } from '../auth.js';
import type { GraphqlDeps } from '../context.js';
import { badInput } from '../errors.js';
import { MAX_SERIES_POINTS } from '../schema.js';
import { GROUP_EXPR } from './usage.js';

// Fixed strings chosen by the enums, never client text.
const INTERVAL = { MINUTE: ['minute', 60_000], HOUR: ['hour', 3_600_000], DAY: ['day', 86_400_000] } as const;

interface Args {
  from?: Date | null;
  to?: Date | null;
  interval: keyof typeof INTERVAL;
  groupBy?: keyof typeof GROUP_EXPR | null;
}

export function usageSeriesResolvers({ pool, adminConfigured }: GraphqlDeps): IResolvers {
  return {
    Query: {
      async usageSeries(_root, args: Args, ctx) {
        requireAdmin(ctx.caller, adminConfigured);
        const to = args.to ?? new Date();
        const from = args.from ?? new Date(to.getTime() - INTERVAL.DAY[1]);
        if (from.getTime() >= to.getTime()) throw badInput('from must be before to', 'from');
        const [unit, ms] = INTERVAL[args.interval];
        const points = Math.ceil((to.getTime() - from.getTime()) / ms);
        if (points > MAX_SERIES_POINTS)
          throw badInput(
            `from..to spans ${points} ${unit}s; usageSeries returns at most ${MAX_SERIES_POINTS} intervals: choose a wider interval or a shorter range`,
            'interval',
          );
        const group = args.groupBy ? GROUP_EXPR[args.groupBy] : 'NULL';
        const { rows } = await pool.query(
          `SELECT date_trunc('${unit}', r."createdAt", 'UTC') AS at,
                  ${group} AS key,
                  count(*)::int AS requests,
                  (count(*) FILTER (WHERE r.status >= 400))::int AS errors,
                  coalesce(sum(r."promptTokens"), 0)::float8 AS "promptTokens",
                  coalesce(sum(r."completionTokens"), 0)::float8 AS "completionTokens",
                  coalesce(sum(r."totalTokens"), 0)::float8 AS "totalTokens"
             FROM "RequestLog" r
            WHERE r."createdAt" >= $1 AND r."createdAt" < $2
            GROUP BY 1, 2
            ORDER BY 1, 2 NULLS LAST`,
          [from, to],
        );
        return rows;
      },
    },
  };
}
