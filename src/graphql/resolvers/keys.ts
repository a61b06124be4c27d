/** apiKeys, createApiKey, revokeApiKey, updateApiKeyLimits: admin key only. */
import type { IResolvers } from 'mercurius';
import { usdOf } from '../../cost/cost.js';
import type { ApiKey } from '../../generated/prisma/client.js';
import { databaseLedger } from '../../limits/ledger.js';
import { currentPeriod } from '../../limits/periods.js';
import { type BudgetPeriod, DEFAULT_BUDGET_PERIOD, type Limits, limitsOf } from '../../limits/spec.js';
import { requireAdmin } from '../auth.js';
import type { GraphqlDeps } from '../context.js';
import { badInput, notFound } from '../errors.js';
import { isUuid, storable } from './args.js';

const MAX_NAME = 200;
const MAX_MODELS = 100;

/** What GraphQL shows of a key: never the hash. */
function view(k: ApiKey) {
  const expired = k.expiresAt !== null && k.expiresAt.getTime() <= Date.now();
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    createdAt: k.createdAt,
    lastUsedAt: k.lastUsedAt,
    revokedAt: k.revokedAt,
    expiresAt: k.expiresAt,
    allowedModels: k.allowedModels.length > 0 ? k.allowedModels : null,
    active: k.revokedAt === null && !expired,
    limits: limitsView(limitsOf(k.limits)),
  };
}

function limitsView(l: Limits | undefined) {
  if (!l) return null;
  return {
    requestsPerMinute: l.requestsPerMinute ?? null,
    tokensPerMinute: l.tokensPerMinute ?? null,
    maxParallelRequests: l.maxParallelRequests ?? null,
    budgetUsd: l.budgetUsd ?? null,
    budgetPeriod: l.budgetUsd !== undefined ? (l.budgetPeriod ?? DEFAULT_BUDGET_PERIOD) : (l.budgetPeriod ?? null),
  };
}

type LimitsArg = { [K in keyof Limits]?: Limits[K] | null };

/** KeyLimitsInput as stored: null fields dropped, each checked (GraphQL has checked the types). */
function limitsInput(arg: LimitsArg): Limits {
  const out: Limits = {};
  for (const f of ['requestsPerMinute', 'tokensPerMinute', 'maxParallelRequests'] as const) {
    const v = arg[f];
    if (v === null || v === undefined) continue;
    if (v < 1) throw badInput(`limits.${f} must be at least 1 (omit it for no limit)`, `limits.${f}`);
    out[f] = v;
  }
  if (arg.budgetUsd !== null && arg.budgetUsd !== undefined) {
    if (!(arg.budgetUsd >= 0 && arg.budgetUsd <= 1e9))
      throw badInput('limits.budgetUsd must be from 0 to 1000000000 (USD)', 'limits.budgetUsd');
    out.budgetUsd = arg.budgetUsd;
  }
  if (arg.budgetPeriod !== null && arg.budgetPeriod !== undefined) {
    if (out.budgetUsd === undefined)
      throw badInput('limits.budgetPeriod needs limits.budgetUsd', 'limits.budgetPeriod');
    out.budgetPeriod = arg.budgetPeriod;
  }
  return out;
}

export function keyResolvers({ prisma, pool, keys, adminConfigured }: GraphqlDeps): IResolvers {
  const ledger = databaseLedger(pool);
  return {
    ApiKey: {
      /** The ledger's sum for the key's current budget period. */
      async spendUsd(key: { id: string; limits: ReturnType<typeof limitsView> }) {
        const period = currentPeriod((key.limits?.budgetPeriod as BudgetPeriod | null) ?? DEFAULT_BUDGET_PERIOD);
        return usdOf(await ledger('key', key.id, period.since));
      },
    },
    Query: {
      async apiKeys(_root, _args, ctx) {
        requireAdmin(ctx.caller, adminConfigured);
        const rows = await prisma.apiKey.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
        return rows.map(view);
      },
    },
    Mutation: {
      async createApiKey(
        _root,
        args: { name: string; expiresAt?: Date | null; allowedModels?: string[] | null; limits?: LimitsArg | null },
        ctx,
      ) {
        requireAdmin(ctx.caller, adminConfigured);
        const name = storable(args.name, 'name').trim();
        if (!name) throw badInput('name must not be empty', 'name');
        if (name.length > MAX_NAME) throw badInput(`name must be at most ${MAX_NAME} characters`, 'name');
        if (args.expiresAt && args.expiresAt.getTime() <= Date.now())
          throw badInput('expiresAt must be in the future', 'expiresAt');
        const models = args.allowedModels ?? undefined;
        if (models !== undefined) {
          if (models.length === 0)
            throw badInput('allowedModels must not be empty: omit it to allow every model', 'allowedModels');
          if (models.length > MAX_MODELS)
            throw badInput(`allowedModels may list at most ${MAX_MODELS} models`, 'allowedModels');
          if (models.some((m) => !m.trim()))
            throw badInput('allowedModels must not contain empty names', 'allowedModels');
          for (const m of models) storable(m, 'allowedModels');
        }
        const limits = args.limits ? limitsInput(args.limits) : undefined;
        const { key, secret } = await keys.create({
          name,
          expiresAt: args.expiresAt ?? null,
          allowedModels: models,
          limits,
        });
        return { key: view(key), secret };
      },
      async updateApiKeyLimits(_root, args: { id: string; limits: LimitsArg }, ctx) {
        requireAdmin(ctx.caller, adminConfigured);
        const limits = limitsInput(args.limits);
        const key = isUuid(args.id) ? await keys.setLimits(args.id, limits) : null;
        if (!key) throw notFound('API key', args.id);
        return view(key);
      },
      async revokeApiKey(_root, args: { id: string }, ctx) {
        requireAdmin(ctx.caller, adminConfigured);
        const key = isUuid(args.id) ? await keys.revoke(args.id) : null;
        if (!key) throw notFound('API key', args.id);
        return view(key);
      },
    },
  };
}
