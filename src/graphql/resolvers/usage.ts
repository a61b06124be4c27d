/** usage(from, to, groupBy) and requestLogs(filter, first, after): admin key only. */
import type { IResolvers } from 'mercurius';
import { usdOf } from '../../cost/cost.js';
import type { Prisma, RequestLog } from '../../generated/prisma/client.js';
import { requireAdmin } from '../auth.js';
import type { GraphqlDeps } from '../context.js';
import { badInput } from '../errors.js';
import { pageSize, storable } from './args.js';

const DAY_MS = 86_400_000;

// Grouping expressions are fixed strings chosen by the enum, never client text (usageSeries uses them too).
export const GROUP_EXPR = {
  MODEL: 'r."requestedModel"',
  KEY: 'r."keyId"',
  DAY: `to_char(r."createdAt" AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  PROVIDER: 'r."provider"',
} as const;

interface UsageRow {
  key: string | null;
  keyName: string | null;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  costUsd: number | null;
}

interface Filter {
  requestId?: string | null;
  route?: 'openai' | 'vapi' | 'anthropic' | 'responses' | 'retell' | null;
  keyId?: string | null;
  requestedModel?: string | null;
  provider?: string | null;
  status?: number | null;
  errorsOnly?: boolean | null;
  vapiCallId?: string | null;
  platform?: string | null;
  callId?: string | null;
  from?: Date | null;
  to?: Date | null;
}

/** Cursor: the last row's createdAt and id, so pages stay stable while rows are added. */
const encodeCursor = (r: RequestLog) => Buffer.from(`${r.createdAt.toISOString()}|${r.id}`).toString('base64url');
function decodeCursor(c: string): { createdAt: Date; id: string } {
  const [at, id] = Buffer.from(c, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (!id || Number.isNaN(createdAt.getTime()) || !/^[0-9a-f-]{36}$/i.test(id))
    throw badInput('after is not a cursor returned by requestLogs', 'after');
  return { createdAt, id };
}

function where(f: Filter | null | undefined): Prisma.RequestLogWhereInput {
  if (!f) return {};
  const w: Prisma.RequestLogWhereInput = {};
  if (f.requestId != null) w.requestId = storable(f.requestId, 'filter.requestId');
  if (f.route != null) w.route = f.route;
  if (f.keyId != null) w.keyId = storable(f.keyId, 'filter.keyId');
  if (f.requestedModel != null) w.requestedModel = storable(f.requestedModel, 'filter.requestedModel');
  if (f.provider != null) w.provider = storable(f.provider, 'filter.provider');
  if (f.vapiCallId != null) w.vapiCallId = storable(f.vapiCallId, 'filter.vapiCallId');
  if (f.platform != null) w.platform = storable(f.platform, 'filter.platform');
  if (f.callId != null) w.callId = storable(f.callId, 'filter.callId');
  if (f.status != null) w.status = f.status;
  else if (f.errorsOnly) w.status = { gte: 400 };
  if (f.from != null || f.to != null)
    w.createdAt = { ...(f.from ? { gte: f.from } : {}), ...(f.to ? { lt: f.to } : {}) };
  return w;
}

export function usageResolvers({ prisma, pool, adminConfigured }: GraphqlDeps): IResolvers {
  return {
    Query: {
      async usage(_root, args: { from?: Date | null; to?: Date | null; groupBy: keyof typeof GROUP_EXPR }, ctx) {
        requireAdmin(ctx.caller, adminConfigured);
        const to = args.to ?? new Date();
        const from = args.from ?? new Date(to.getTime() - 30 * DAY_MS);
        if (from.getTime() >= to.getTime()) throw badInput('from must be before to', 'from');
        const expr = GROUP_EXPR[args.groupBy];
        const { rows } = await pool.query<UsageRow>(
          `SELECT ${expr} AS key,
                  ${args.groupBy === 'KEY' ? 'min(k.name)' : 'NULL'} AS "keyName",
                  count(*)::int AS requests,
                  (count(*) FILTER (WHERE r.status >= 400))::int AS errors,
                  coalesce(sum(r."promptTokens"), 0)::float8 AS "promptTokens",
                  coalesce(sum(r."completionTokens"), 0)::float8 AS "completionTokens",
                  coalesce(sum(r."totalTokens"), 0)::float8 AS "totalTokens",
                  (sum(r."costMicros") / 1000000.0)::float8 AS "costUsd"
             FROM "RequestLog" r
             ${args.groupBy === 'KEY' ? 'LEFT JOIN "ApiKey" k ON k.id::text = r."keyId"' : ''}
            WHERE r."createdAt" >= $1 AND r."createdAt" < $2
            GROUP BY 1
            ORDER BY 1 NULLS LAST`,
          [from, to],
        );
        return rows;
      },
      async requestLogs(_root, args: { filter?: Filter | null; first?: number | null; after?: string | null }, ctx) {
        requireAdmin(ctx.caller, adminConfigured);
        const take = pageSize(args.first, 50);
        const base = where(args.filter);
        const c = args.after != null ? decodeCursor(args.after) : null;
        const rows = await prisma.requestLog.findMany({
          where: c
            ? {
                AND: [base, { OR: [{ createdAt: { lt: c.createdAt } }, { createdAt: c.createdAt, id: { lt: c.id } }] }],
              }
            : base,
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
          take: take + 1,
        });
        const page = rows.slice(0, take);
        const last = page[page.length - 1];
        return {
          nodes: page.map((r) => ({
            ...r,
            costUsd: usdOf(r.costMicros),
            vapi:
              r.vapiCallId || r.vapiAssistantId || r.vapiCustomerNumber
                ? { callId: r.vapiCallId, assistantId: r.vapiAssistantId, customerNumber: r.vapiCustomerNumber }
                : null,
          })),
          pageInfo: { endCursor: last ? encodeCursor(last) : null, hasNextPage: rows.length > take },
        };
      },
    },
  };
}
