/**
 * Usage: requests, errors and tokens (and cost, once the schema has it) over a chosen time
 * range, by model, key or provider. The charts come from usageSeries and the totals from usage —
 * the same rows, so they agree.
 */
import { useMemo, useState } from 'preact/hooks';
import { gql, schemaFields } from '../api';
import { type Series, TimeChart } from '../chart';
import { Empty, ErrorBox, Loading, useLoad } from '../components';
import { fmtInt, fmtUsd } from '../format';

const RANGES = [
  { id: '1h', label: 'Last hour', ms: 3_600_000, interval: 'MINUTE', step: 60 },
  { id: '24h', label: 'Last 24 hours', ms: 86_400_000, interval: 'HOUR', step: 3600 },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86_400_000, interval: 'HOUR', step: 3600 },
  { id: '30d', label: 'Last 30 days', ms: 30 * 86_400_000, interval: 'DAY', step: 86_400 },
] as const;
const GROUPS = [
  { id: 'MODEL', label: 'Model' },
  { id: 'KEY', label: 'Key' },
  { id: 'PROVIDER', label: 'Provider' },
] as const;
/** Groups drawn as their own line; the rest are summed into "others". */
const MAX_LINES = 6;

interface Bucket {
  key: string | null;
  keyName?: string | null;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  costUsd?: number | null;
}
interface Point extends Bucket {
  at: string;
}

async function load(rangeId: string, groupBy: string) {
  const range = RANGES.find((r) => r.id === rangeId) ?? RANGES[1];
  const to = new Date();
  const from = new Date(to.getTime() - range.ms);
  // Cost per bucket arrives with the limits & cost work: asked for only when the schema has it.
  const cost = (await schemaFields('UsageBucket')).has('costUsd');
  const fields = `key requests errors promptTokens completionTokens totalTokens${cost ? ' costUsd' : ''}`;
  const data = await gql<{ usage: Bucket[]; usageSeries: Point[] }>(
    `query($from: DateTime, $to: DateTime, $groupBy: UsageGroupBy!, $interval: UsageInterval!) {
      usage(from: $from, to: $to, groupBy: $groupBy) { ${fields}${groupBy === 'KEY' ? ' keyName' : ''} }
      usageSeries(from: $from, to: $to, interval: $interval, groupBy: $groupBy) { at key requests errors totalTokens }
    }`,
    { from: from.toISOString(), to: to.toISOString(), groupBy, interval: range.interval },
  );
  return { ...data, from, to, step: range.step, cost };
}

/** One line per group (the busiest first), zero where a group had no requests in an interval. */
function lines(points: Point[], from: Date, to: Date, step: number, value: (p: Point) => number) {
  const first = Math.floor(from.getTime() / 1000 / step) * step;
  const xs: number[] = [];
  for (let x = first; x < to.getTime() / 1000; x += step) xs.push(x);
  const index = new Map(xs.map((x, i) => [x, i]));
  const byGroup = new Map<string, number[]>();
  for (const p of points) {
    const label = p.key ?? '(none)';
    let values = byGroup.get(label);
    if (!values) {
      values = xs.map(() => 0);
      byGroup.set(label, values);
    }
    const i = index.get(Math.floor(new Date(p.at).getTime() / 1000 / step) * step);
    if (i !== undefined) values[i]! += value(p);
  }
  const sorted = [...byGroup.entries()].sort(
    (a, b) => b[1].reduce((s, v) => s + v, 0) - a[1].reduce((s, v) => s + v, 0),
  );
  const series: Series[] = sorted.slice(0, MAX_LINES).map(([label, values]) => ({ label, values }));
  const rest = sorted.slice(MAX_LINES);
  if (rest.length > 0)
    series.push({ label: 'others', values: xs.map((_, i) => rest.reduce((s, [, v]) => s + v[i]!, 0)) });
  return { xs, series };
}

export function UsagePage() {
  const [range, setRange] = useState('24h');
  const [groupBy, setGroupBy] = useState('MODEL');
  const result = useLoad(() => load(range, groupBy), [range, groupBy]);
  const d = result.data;
  const charts = useMemo(() => {
    if (!d) return null;
    return {
      requests: lines(d.usageSeries, d.from, d.to, d.step, (p) => p.requests),
      errors: lines(d.usageSeries, d.from, d.to, d.step, (p) => p.errors),
      tokens: lines(d.usageSeries, d.from, d.to, d.step, (p) => p.totalTokens),
    };
  }, [d]);
  const totals = d?.usage.reduce(
    (t, b) => ({
      requests: t.requests + b.requests,
      errors: t.errors + b.errors,
      tokens: t.tokens + b.totalTokens,
      cost: t.cost + (b.costUsd ?? 0),
    }),
    { requests: 0, errors: 0, tokens: 0, cost: 0 },
  );
  return (
    <div>
      <fieldset class="card row">
        <legend class="sr-only">What to show</legend>
        <label>
          Time range
          <select value={range} onChange={(e) => setRange(e.currentTarget.value)}>
            {RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          By
          <select value={groupBy} onChange={(e) => setGroupBy(e.currentTarget.value)}>
            {GROUPS.map((g) => (
              <option key={g.id} value={g.id}>
                {g.label}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={result.reload}>
          Refresh
        </button>
      </fieldset>
      {result.error ? <ErrorBox error={result.error} retry={result.reload} /> : null}
      {!d && result.loading ? <Loading what="usage" /> : null}
      {d && totals ? (
        <>
          <dl class="stats totals" data-testid="usage-totals">
            <div>
              <dt>Requests</dt>
              <dd data-testid="total-requests">{fmtInt(totals.requests)}</dd>
            </div>
            <div>
              <dt>Errors</dt>
              <dd data-testid="total-errors">{fmtInt(totals.errors)}</dd>
            </div>
            <div>
              <dt>Tokens</dt>
              <dd data-testid="total-tokens">{fmtInt(totals.tokens)}</dd>
            </div>
            <div>
              <dt>Cost</dt>
              <dd>{d.cost ? fmtUsd(totals.cost) : <span class="muted">not tracked</span>}</dd>
            </div>
          </dl>
          {totals.requests === 0 ? (
            <Empty>No requests in this range yet. Send one from the Playground.</Empty>
          ) : (
            charts && (
              <div class="charts">
                <TimeChart title="Requests" testId="chart-requests" {...charts.requests} />
                <TimeChart title="Errors (HTTP 4xx/5xx)" testId="chart-errors" {...charts.errors} />
                <TimeChart title="Tokens" testId="chart-tokens" {...charts.tokens} />
              </div>
            )
          )}
          {d.usage.length > 0 ? (
            <div class="card table-wrap">
              <table data-testid="usage-table">
                <thead>
                  <tr>
                    <th scope="col">{GROUPS.find((g) => g.id === groupBy)?.label}</th>
                    <th scope="col" class="num">
                      Requests
                    </th>
                    <th scope="col" class="num">
                      Errors
                    </th>
                    <th scope="col" class="num">
                      Prompt tokens
                    </th>
                    <th scope="col" class="num">
                      Completion tokens
                    </th>
                    {d.cost ? (
                      <th scope="col" class="num">
                        Cost
                      </th>
                    ) : null}
                  </tr>
                </thead>
                <tbody>
                  {d.usage.map((b) => (
                    <tr key={b.key ?? '(none)'}>
                      <td>{b.keyName ? `${b.keyName} (${b.key})` : (b.key ?? <span class="muted">(none)</span>)}</td>
                      <td class="num">{fmtInt(b.requests)}</td>
                      <td class="num">{fmtInt(b.errors)}</td>
                      <td class="num">{fmtInt(b.promptTokens)}</td>
                      <td class="num">{fmtInt(b.completionTokens)}</td>
                      {d.cost ? <td class="num">{fmtUsd(b.costUsd)}</td> : null}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
        </>
      ) : null}
    </div>
  );
}
