/**
 * What a limit says: the shape shared by database keys (GraphQL `KeyLimitsInput`, stored on
 * the key row), PARLEY_CONFIG `limits:` (environment keys and models) and the limiter.
 * One TypeBox declaration is the type and the validator of both the file and the key row.
 */
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

export const BUDGET_PERIODS = ['DAY', 'MONTH', 'TOTAL'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];
/** A budget without a period renews each calendar month (UTC), as provider invoices do. */
export const DEFAULT_BUDGET_PERIOD: BudgetPeriod = 'MONTH';

const count = Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 });

export const Limits = Type.Object(
  {
    requestsPerMinute: Type.Optional(count),
    tokensPerMinute: Type.Optional(count),
    maxParallelRequests: Type.Optional(count),
    /** USD; at most a billion, so micro-dollars stay exact in a double. */
    budgetUsd: Type.Optional(Type.Number({ minimum: 0, maximum: 1e9 })),
    budgetPeriod: Type.Optional(Type.Union(BUDGET_PERIODS.map((p) => Type.Literal(p)))),
  },
  { additionalProperties: false },
);
export type Limits = Static<typeof Limits>;

/** PARLEY_CONFIG `limits:`. */
export const LimitsConfig = Type.Object(
  {
    /** By key id as usage records name it: `env:<n>` (the n-th PARLEY_API_KEYS entry, from 0), `open`, or a database key's id. */
    keys: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Limits)),
    /** By the model name clients ask for, shared by every key. */
    models: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Limits)),
  },
  { additionalProperties: false },
);
export type LimitsConfig = Static<typeof LimitsConfig>;

const checkLimits = TypeCompiler.Compile(Limits);

/** Limits as read back from a key row's JSON: anything else (a hand edit) counts as none. */
export function limitsOf(json: unknown): Limits | undefined {
  if (json === null || json === undefined || !checkLimits.Check(json)) return undefined;
  return hasAny(json) ? json : undefined;
}

export function hasAny(l: Limits): boolean {
  return (
    l.requestsPerMinute !== undefined ||
    l.tokensPerMinute !== undefined ||
    l.maxParallelRequests !== undefined ||
    l.budgetUsd !== undefined
  );
}
