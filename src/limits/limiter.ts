/**
 * Per-key and per-model limits, checked inside the pipeline for every client protocol:
 * requests per minute, tokens per minute, requests in parallel and a budget in USD.
 *
 * Before the upstream call a request reserves what it may use — one request, its tokens
 * (prompt estimate + max_tokens × n, or PARLEY_LIMITS_DEFAULT_MAX_TOKENS when it sets none),
 * a parallel slot, and its worst-case cost — in ONE atomic acquire (./counters.ts): every
 * counter has room and all are charged, or none is and the request is refused. When its
 * record is made (http/chat/record.ts) the reservation is settled: tokens and cost to what the
 * upstream reported (nothing for an error or an abort without usage), the slot given back.
 * So concurrent requests can never slip past a limit between check and count.
 *
 * Requests and tokens use fixed one-minute windows aligned to the store's clock (UTC
 * minutes): simple, exact, and their reset is the same instant on every replica.
 */
import type { PriceTable } from '../cost/cost.js';
import type { ChatContext } from '../pipeline/context.js';
import type { ChatRequest, Usage } from '../protocol/chat.js';
import { errors } from '../protocol/errors.js';
import type { Route } from '../routing/router.js';
import { estimatePromptTokens } from '../usage/tokens.js';
import type { Charge, CounterState, Counters } from './counters.js';
import type { BudgetScope, Ledger } from './ledger.js';
import { currentPeriod, type Period } from './periods.js';
import { DEFAULT_BUDGET_PERIOD, hasAny, type Limits, type LimitsConfig } from './spec.js';

const MINUTE_MS = 60_000;
/** Budget counters seeded from the ledger before an acquire gives up (replicas racing to seed). */
const MAX_SEEDS = 3;

type What = 'requests' | 'tokens' | 'parallel' | 'budget';

/** One counter a request touches, and why. */
interface Plan {
  what: What;
  charge: Charge;
  /** "key env:0", "model gpt-4o": who the limit belongs to, as a refusal names it. */
  scope: string;
  limits: Limits;
  budget?: { scope: BudgetScope; id: string; period: Period };
}

/** What a request holds until its record is made: the store's keys and the amounts added. */
export interface Reservation {
  taken: { key: string; what: What; amount: number }[];
}

export interface LimiterOptions {
  counters: Counters;
  prices: PriceTable;
  config?: LimitsConfig;
  /** The usage records' spend (null without a database: budgets start at 0). */
  ledger: Ledger | null;
  /** Rate limits when the store fails: let requests through (open) or refuse them with 503 (closed). Budgets always refuse. */
  onStoreError: 'open' | 'closed';
  /** Output tokens reserved for a request that sets no max_tokens. */
  defaultMaxTokens: number;
  log: LimitLog;
}

/** Where the limiter's warnings go (the app's logger, once it exists). */
export interface LimitLog {
  warn(obj: object, msg: string): void;
  info(msg: string): void;
}

export class Limiter {
  private readonly keys: Map<string, Limits>;
  private readonly models: Map<string, Limits>;
  private storeFailing = false;

  constructor(private readonly opts: LimiterOptions) {
    this.keys = withLimits(opts.config?.keys);
    this.models = withLimits(opts.config?.models);
  }

  /** Whether any limit applies: false is the hot path's early return (nothing allocated, no store call). */
  applies(ctx: ChatContext, model: string): boolean {
    const p = ctx.principal;
    if (p === null) return false;
    return p.limits !== undefined || this.keys.has(p.keyId) || this.models.has(model);
  }

  /**
   * Reserves the request's share of every limit that applies, or throws the refusal (429, or
   * 503 when the store is unreachable). Sets `ctx.limits` and `ctx.limitHeaders`.
   */
  async admit(ctx: ChatContext, body: ChatRequest, route: Route): Promise<void> {
    const keyId = ctx.principal!.keyId;
    const keyLimits = ctx.principal!.limits ?? this.keys.get(keyId);
    const modelLimits = this.models.get(body.model);
    const needTokens = [keyLimits, modelLimits].some(
      (l) => l?.tokensPerMinute !== undefined || l?.budgetUsd !== undefined,
    );
    let prompt = 0;
    let output = 0;
    if (needTokens) {
      prompt = estimatePromptTokens(body);
      const max = body.max_completion_tokens ?? body.max_tokens ?? this.opts.defaultMaxTokens;
      output = max * (body.n ?? 1);
    }
    const plans: Plan[] = [];
    const add = (
      l: Limits | undefined,
      prefix: string,
      scope: string,
      ledgerId: { scope: BudgetScope; id: string },
    ) => {
      if (!l) return;
      if (l.budgetUsd !== undefined) {
        const period = currentPeriod(l.budgetPeriod ?? DEFAULT_BUDGET_PERIOD);
        const amount = this.worstCase(route, prompt, output, scope);
        const charge: Charge = {
          kind: 'budget',
          key: `${prefix}:spend:${period.id}`,
          limit: micros(l.budgetUsd),
          amount,
        };
        plans.push({ what: 'budget', charge, scope, limits: l, budget: { ...ledgerId, period } });
      }
      if (l.requestsPerMinute !== undefined) {
        const charge: Charge = {
          kind: 'window',
          key: `${prefix}:rpm`,
          windowMs: MINUTE_MS,
          limit: l.requestsPerMinute,
          amount: 1,
        };
        plans.push({ what: 'requests', charge, scope, limits: l });
      }
      if (l.tokensPerMinute !== undefined) {
        const charge: Charge = {
          kind: 'window',
          key: `${prefix}:tpm`,
          windowMs: MINUTE_MS,
          limit: l.tokensPerMinute,
          amount: prompt + output,
        };
        plans.push({ what: 'tokens', charge, scope, limits: l });
      }
      if (l.maxParallelRequests !== undefined) {
        const charge: Charge = { kind: 'gauge', key: `${prefix}:par`, limit: l.maxParallelRequests, amount: 1 };
        plans.push({ what: 'parallel', charge, scope, limits: l });
      }
    };
    add(keyLimits, `k:${keyId}`, `key ${keyId}`, { scope: 'key', id: keyId });
    add(modelLimits, `m:${body.model}`, `model ${body.model}`, { scope: 'model', id: body.model });
    if (plans.length === 0) return;

    const states = await this.acquire(plans);
    if (states.states.length === 0) return; // the store failed and rate limits are open: nothing was counted
    const headers = rateHeaders(plans, states.states, states.ok);
    if (!states.ok) throw refusal(plans, states.states, headers);
    ctx.limits = {
      taken: plans.map((p, i) => ({ key: states.states[i]!.key, what: p.what, amount: p.charge.amount })),
    };
    ctx.limitHeaders = headers;
  }

  /**
   * Settles a request's reservation once its record is made: tokens and cost to what it
   * really used (`costMicros`, the record's), its parallel slot given back. Runs off the
   * request path; a store that fails keeps the adjustment for when it is back.
   */
  settle(ctx: ChatContext, costMicros: number | null): void {
    const r = ctx.limits;
    if (r === null) return;
    ctx.limits = null;
    const used = usedTokens(ctx.usage);
    const deltas: { key: string; delta: number }[] = [];
    for (const t of r.taken) {
      const delta =
        t.what === 'tokens'
          ? used - t.amount
          : t.what === 'budget'
            ? (costMicros ?? 0) - t.amount
            : t.what === 'parallel'
              ? -1
              : 0;
      if (delta !== 0) deltas.push({ key: t.key, delta });
    }
    if (deltas.length === 0) return;
    this.opts.counters.adjust(deltas).catch((err: Error) => {
      this.opts.log.warn(
        { err: err.message },
        "settling a request's limits failed; sent again when the limit store is back",
      );
    });
  }

  /** The acquire, with budget counters seeded from the ledger when the store has none. */
  private async acquire(plans: Plan[]): Promise<{ ok: boolean; states: CounterState[] }> {
    const charges = plans.map((p) => p.charge);
    const budget = plans.some((p) => p.what === 'budget');
    try {
      for (let seeds = 0; ; seeds++) {
        const got = await this.opts.counters.acquire(charges);
        if (!('seed' in got)) {
          if (this.storeFailing) this.opts.log.info('the limit store answers again');
          this.storeFailing = false;
          return got;
        }
        if (seeds >= MAX_SEEDS) throw new Error('budget counter could not be seeded');
        const plan = plans[got.seed]!;
        const b = plan.budget!;
        const spent = this.opts.ledger ? await this.opts.ledger(b.scope, b.id, b.period.since) : 0;
        await this.opts.counters.seed(plan.charge.key, spent, b.period.ttlMs);
      }
    } catch (err) {
      if (!this.storeFailing)
        this.opts.log.warn(
          { err: (err as Error).message },
          `the limit store is unavailable: budgets refuse requests (503), rate limits ${this.opts.onStoreError === 'open' ? 'are not enforced' : 'refuse requests (503)'} until it is back (PARLEY_LIMITS_ON_REDIS_ERROR)`,
        );
      this.storeFailing = true;
      if (budget || this.opts.onStoreError === 'closed') throw errors.limitsUnavailable();
      // Open: the request goes on uncounted (nothing was added, so nothing to settle).
      return { ok: true, states: [] };
    }
  }

  /** The most the request can cost over its targets (a failover may end on the dearest). */
  private worstCase(route: Route, prompt: number, output: number, scope: string): number {
    let worst = 0;
    for (const t of route.targets) {
      if (t.provider.type === 'builtin') continue; // the offline model costs nothing
      const c = this.opts.prices.estimate(t.model, prompt, output);
      if (c === null) throw errors.unpricedModel(t.model, scope);
      if (c > worst) worst = c;
    }
    return worst;
  }
}

function withLimits(m: Record<string, Limits> | undefined): Map<string, Limits> {
  const out = new Map<string, Limits>();
  for (const [k, l] of Object.entries(m ?? {})) if (hasAny(l)) out.set(k, l);
  return out;
}

export const micros = (usd: number): number => Math.round(usd * 1_000_000);

/** Tokens the upstream reported: total_tokens, else prompt + completion; 0 when it reported none. */
function usedTokens(u: Usage | null): number {
  if (!u) return 0;
  const n = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0);
  return n(u.total_tokens) || n(u.prompt_tokens) + n(u.completion_tokens);
}

/** OpenAI's duration style for x-ratelimit-reset-*: "250ms", "12.5s". */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  return `${Number((ms / 1000).toFixed(3))}s`;
}

/**
 * x-ratelimit-{limit,remaining,reset}-{requests,tokens}: for each, the limit with the least
 * room left (a key's and a model's may both apply). `added`: the request was counted.
 */
function rateHeaders(plans: Plan[], states: CounterState[], added: boolean): Record<string, string> {
  const h: Record<string, string> = {};
  for (const what of ['requests', 'tokens'] as const) {
    let best: { limit: number; remaining: number; resetMs: number } | null = null;
    plans.forEach((p, i) => {
      const s = states[i];
      if (p.what !== what || !s) return;
      const remaining = Math.max(0, p.charge.limit - s.before - (added ? p.charge.amount : 0));
      if (!best || remaining < best.remaining) best = { limit: p.charge.limit, remaining, resetMs: s.resetMs };
    });
    if (!best) continue;
    const b = best as { limit: number; remaining: number; resetMs: number };
    h[`x-ratelimit-limit-${what}`] = String(b.limit);
    h[`x-ratelimit-remaining-${what}`] = String(b.remaining);
    h[`x-ratelimit-reset-${what}`] = duration(b.resetMs);
  }
  return h;
}

/** The refusal for the first limit the request did not fit, a spent budget first (waiting does not help it). */
function refusal(plans: Plan[], states: CounterState[], headers: Record<string, string>): Error {
  const over = (p: Plan, i: number) => states[i]!.before + p.charge.amount > p.charge.limit;
  const order: What[] = ['budget', 'tokens', 'requests', 'parallel'];
  for (const what of order) {
    const i = plans.findIndex((p, j) => p.what === what && over(p, j));
    if (i < 0) continue;
    const p = plans[i]!;
    const s = states[i]!;
    const wait = Math.max(1, s.resetMs);
    const retry = { 'retry-after': String(Math.ceil(wait / 1000)), 'retry-after-ms': String(wait) };
    switch (what) {
      case 'budget':
        return errors.budgetExhausted(
          p.scope,
          p.limits.budgetUsd!,
          p.limits.budgetPeriod ?? DEFAULT_BUDGET_PERIOD,
          headers,
        );
      case 'tokens':
        if (p.charge.amount > p.charge.limit)
          return errors.requestTooLarge(p.charge.amount, p.charge.limit, p.scope, headers);
        return errors.rateLimited('tokens', p.charge.limit, p.scope, { ...headers, ...retry });
      case 'requests':
        return errors.rateLimited('requests', p.charge.limit, p.scope, { ...headers, ...retry });
      case 'parallel':
        return errors.tooManyParallel(p.charge.limit, p.scope, {
          ...headers,
          'retry-after': '1',
          'retry-after-ms': '1000',
        });
    }
  }
  return errors.internal();
}
