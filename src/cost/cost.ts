/**
 * What a request costs, in integer micro-dollars (1 USD = 1,000,000), from the price table
 * (./prices.ts) and PARLEY_CONFIG `prices:`. Prices are held as integers too — micro-dollars
 * per million tokens — and a cost is one integer sum divided once, rounded up to the next
 * micro-dollar: no float ever accumulates, so a budget's ledger adds up exactly.
 *
 * Which entry prices a model name (the upstream model, as sent to the provider):
 * 1. the name itself; 2. the name after its last "/" (`openai/gpt-4o` on OpenRouter);
 * 3. that name without a dated suffix (`-2024-08-06`, `-20250929`);
 * 4. the longest entry that the name starts with, followed by "-" (`gpt-4o-mini-search` → `gpt-4o-mini`).
 * `prices:` entries take part in the same lookup and win over the shipped ones of the same name.
 * No match: the model is unpriced and its requests' cost is null.
 */
import type { Usage } from '../protocol/chat.js';
import { PRICE_FAMILIES, type Price } from './prices.js';

/** A price in micro-dollars per million tokens, as integers. */
interface Units {
  input: bigint;
  cached: bigint;
  output: bigint;
}

const MILLION = 1_000_000n;
/** Model names remembered (hits and misses); names come from config and clients, so the memo is bounded. */
const MEMO_MAX = 1000;
const DATED = /-(\d{4}-\d{2}-\d{2}|\d{8})$/;

const units = (usdPerMTok: number): bigint => BigInt(Math.round(usdPerMTok * 1_000_000));

function toUnits(p: Price): Units {
  const input = units(p.inputPerMTok);
  return {
    input,
    output: units(p.outputPerMTok),
    cached: p.cachedInputPerMTok === undefined ? input : units(p.cachedInputPerMTok),
  };
}

/** A whole token count, or 0 (the usage object comes from the upstream unchecked). */
function tokens(v: unknown): bigint {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= Number.MAX_SAFE_INTEGER ? BigInt(v) : 0n;
}

export class PriceTable {
  private readonly table = new Map<string, Units>();
  /** Entry names, longest first, for the prefix rule. */
  private readonly byLength: string[];
  private readonly memo = new Map<string, Units | null>();

  constructor(overrides: Record<string, Price> = {}) {
    for (const family of Object.values(PRICE_FAMILIES))
      for (const [model, p] of Object.entries(family.models)) this.table.set(model, toUnits(p));
    for (const [model, p] of Object.entries(overrides)) this.table.set(model, toUnits(p));
    this.byLength = [...this.table.keys()].sort((a, b) => b.length - a.length);
  }

  /** Whether the model has a price. */
  has(model: string): boolean {
    return this.lookup(model) !== null;
  }

  /** The cost of a finished request in micro-dollars, or null when the model is unpriced or nothing was counted. */
  cost(model: string | null, usage: Usage | null): number | null {
    if (model === null || usage === null) return null;
    const u = this.lookup(model);
    if (!u) return null;
    const prompt = tokens(usage.prompt_tokens);
    const details = (usage as { prompt_tokens_details?: { cached_tokens?: unknown } | null }).prompt_tokens_details;
    let cached = tokens(details?.cached_tokens);
    if (cached > prompt) cached = prompt;
    return micros((prompt - cached) * u.input + cached * u.cached + tokens(usage.completion_tokens) * u.output);
  }

  /** The most `promptTokens` in and `outputTokens` out can cost (no cache discount), or null when unpriced. */
  estimate(model: string, promptTokens: number, outputTokens: number): number | null {
    const u = this.lookup(model);
    if (!u) return null;
    return micros(tokens(promptTokens) * u.input + tokens(outputTokens) * u.output);
  }

  private lookup(model: string): Units | null {
    const memo = this.memo.get(model);
    if (memo !== undefined) return memo;
    const found = this.find(model);
    if (this.memo.size >= MEMO_MAX) this.memo.clear();
    this.memo.set(model, found);
    return found;
  }

  private find(model: string): Units | null {
    const exact = this.table.get(model);
    if (exact) return exact;
    const base = model.slice(model.lastIndexOf('/') + 1);
    const undated = base.replace(DATED, '');
    const hit = this.table.get(base) ?? this.table.get(undated);
    if (hit) return hit;
    for (const name of this.byLength) if (undated.startsWith(`${name}-`)) return this.table.get(name)!;
    return null;
  }
}

/** Micro-dollars per MTok × tokens, in micro-dollars, rounded up. */
function micros(sum: bigint): number {
  return Number((sum + MILLION - 1n) / MILLION);
}

/** Micro-dollars as the USD amount GraphQL shows. */
export function usdOf(micros: number | bigint | null): number | null {
  return micros === null ? null : Number(micros) / 1_000_000;
}
