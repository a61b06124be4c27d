/**
 * Turns a results object into the side-by-side table and the target check (issue 5, item 4).
 */
import { round } from './lib/stats.mjs';

const MiB = 2 ** 20;
const GB = 1e9;

function table(headers, rows) {
  const cells = [headers, ...rows].map((r) =>
    headers.map((_, i) => r[i]).map((c) => (c === null || c === undefined || Number.isNaN(c) ? '–' : String(c))),
  );
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

const ratio = (a, b) => (a && b ? round(a / b, 2) : null);
const fmt = (x, d = 3) => round(x, d);

/** The 10,000-stream figure: measured, or extrapolated from the largest count that fit the fd limit. */
export function tenThousand(mem) {
  if (!mem?.counts) return null;
  const counts = Object.keys(mem.counts)
    .map(Number)
    .sort((a, b) => a - b);
  const n = counts[counts.length - 1];
  const m = mem.counts[n];
  if (!m?.open) return null;
  if (n >= 10000) return { rssBytes: m.rssBytes, extrapolatedFrom: null };
  return { rssBytes: (m.idleBytes ?? mem.idleBytes) + 10000 * m.bytesPerStream, extrapolatedFrom: n };
}

export function checkTargets(r) {
  const d = r.speed.direct;
  const p = r.speed.parley;
  let b = r.speed.bare;
  let k = r.speed.portkey;
  if (!d || !p) return [];
  const out = [];
  const add = (name, value, limit, met, note) =>
    out.push({ name, value: fmt(value), limit, met: value === null || Number.isNaN(value) ? null : met, note });
  if (p.latencyMs && d.latencyMs) {
    add(
      'added latency p50 (ms)',
      p.latencyMs.p50 - d.latencyMs.p50,
      '≤ 0.35',
      p.latencyMs.p50 - d.latencyMs.p50 <= 0.35,
    );
    add('added latency p99 (ms)', p.latencyMs.p99 - d.latencyMs.p99, '≤ 2', p.latencyMs.p99 - d.latencyMs.p99 <= 2);
  }
  const worst = (other, kind) =>
    Math.min(
      ...r.plan.connections.map((c) => p.throughput[`${kind}@${c}`]?.rps / other.throughput[`${kind}@${c}`]?.rps),
    );
  if (!p.throughput?.['json@32']) b = k = undefined;
  if (b)
    add('non-stream throughput ÷ bare proxy (worst of 32/256)', worst(b, 'json'), '≥ 0.6', worst(b, 'json') >= 0.6);
  if (k) add('non-stream throughput ÷ Portkey (worst of 32/256)', worst(k, 'json'), '≥ 10', worst(k, 'json') >= 10);
  if (b)
    add('stream throughput ÷ bare proxy (worst of 32/256)', worst(b, 'stream'), '≥ 0.6', worst(b, 'stream') >= 0.6);
  const ten = tenThousand(r.memory.parley);
  if (ten)
    add(
      'RSS with 10,000 open streams (GB)',
      ten.rssBytes / GB,
      '≤ 1',
      ten.rssBytes <= GB,
      ten.extrapolatedFrom
        ? `extrapolated from ${ten.extrapolatedFrom} streams (open-file limit ${r.machine.openFileLimit})`
        : undefined,
    );
  if (p.streaming && d.streaming)
    add(
      'TTFT overhead p99 (ms)',
      p.streaming.ttftPathMs.p99 - d.streaming.ttftPathMs.p99,
      '≤ 1',
      p.streaming.ttftPathMs.p99 - d.streaming.ttftPathMs.p99 <= 1,
    );
  return out;
}

export function printReport(r) {
  const names = Object.keys(r.speed);
  const d = r.speed.direct;
  const say = (s = '') => console.log(s);
  say(
    `\nParley benchmark — ${r.date} (${r.mode}, ${r.durationS} s) on ${r.machine.cpus}× ${r.machine.cpuModel}, Node ${r.machine.node}`,
  );
  const la = (x) => (x ? x.map((v) => v.toFixed(2)).join(' ') : '?');
  const ow = r.machine.otherWork;
  say(
    `Other work on the machine during the run: ${ow ? `${ow.otherCoresMean} cores on average, ${ow.otherCoresPeak} at peak` : '?'} (load average ${la(r.machine.loadavgAtStart)} → ${la(r.machine.loadavgAtEnd)}); it shows up as noise, mostly in the p99s.`,
  );
  say(
    r.valid
      ? 'Run VALID: no errors, every answer 2xx.'
      : `Run INVALID (${r.invalid.length} problem(s)):\n  ${r.invalid.join('\n  ')}`,
  );

  say('\n(a) Latency, sequential keep-alive non-stream (ms); added = minus direct');
  say(
    table(
      ['target', 'p50', 'p90', 'p99', 'added p50', 'added p90', 'added p99'],
      names.map((n) => {
        const l = r.speed[n].latencyMs;
        return l && d.latencyMs
          ? [
              n,
              fmt(l.p50),
              fmt(l.p90),
              fmt(l.p99),
              fmt(l.p50 - d.latencyMs.p50),
              fmt(l.p90 - d.latencyMs.p90),
              fmt(l.p99 - d.latencyMs.p99),
            ]
          : [n];
      }),
    ),
  );

  const lagRows = [...names.map((n) => r.speed[n]), r.postgres].filter((x) => x?.loopLagDuringLatencyMs);
  if (lagRows.length) {
    say('\nEvent-loop delay inside each server during (a), ms (perf_hooks, worst round)');
    say(
      table(
        ['target', 'p50', 'p99', 'max'],
        lagRows.map((x) => [
          x.label,
          x.loopLagDuringLatencyMs.p50,
          x.loopLagDuringLatencyMs.p99,
          x.loopLagDuringLatencyMs.max,
        ]),
      ),
    );
  }

  const keys = r.plan.connections.flatMap((c) => [`json@${c}`]).concat(r.plan.connections.map((c) => `stream@${c}`));
  say(`\n(b) Throughput (requests/s; stream = ${r.plan.streamTokens}-chunk SSE replies)`);
  const rows = names.map((n) => [n, ...keys.map((k) => fmt(r.speed[n].throughput?.[k]?.rps, 0))]);
  const p = r.speed.parley;
  for (const other of ['bare', 'fastify', 'portkey', 'parley@baseline']) {
    if (p?.throughput && r.speed[other]?.throughput)
      rows.push([
        `parley ÷ ${other}`,
        ...keys.map((k) => ratio(p.throughput[k]?.rps, r.speed[other].throughput[k]?.rps)),
      ]);
  }
  say(table(['target', ...keys], rows));

  say(
    `\n(c) Streaming, ${r.plan.tokenDelayMs.join('–')} ms between upstream tokens, ${r.plan.ttftConcurrency} concurrent (ms; overhead = minus direct)`,
  );
  say(
    table(
      [
        'target',
        'TTFT p50',
        'TTFT p99',
        'TTFT ovh p50',
        'TTFT ovh p99',
        'chunk relay p50',
        'chunk relay p99',
        'chunk ovh p50',
        'chunk ovh p99',
      ],
      names
        .filter((n) => r.speed[n].streaming)
        .map((n) => {
          const s = r.speed[n].streaming;
          const ds = d.streaming;
          return [
            n,
            fmt(s.ttftMs.p50),
            fmt(s.ttftMs.p99),
            fmt(s.ttftPathMs.p50 - ds.ttftPathMs.p50),
            fmt(s.ttftPathMs.p99 - ds.ttftPathMs.p99),
            fmt(s.chunkRelayMs.p50),
            fmt(s.chunkRelayMs.p99),
            fmt(s.chunkRelayMs.p50 - ds.chunkRelayMs.p50),
            fmt(s.chunkRelayMs.p99 - ds.chunkRelayMs.p99),
          ];
        }),
    ),
  );

  const counts = r.plan.memCounts;
  say(`\n(d) Memory: RSS (MiB) idle and with concurrent open streams from a slow upstream`);
  say(
    table(
      [
        'target',
        'idle',
        ...counts.map((c) => `${c} streams`),
        ...counts.map((c) => `bytes/stream @${c}`),
        '10,000 streams',
        'upstream left open',
      ],
      Object.entries(r.memory).map(([n, m]) => {
        const ten = tenThousand(m);
        const left = counts.map((c) => m.counts[c]?.upstreamLeftOpenAfterClientsLeft ?? 0).reduce((a, b) => a + b, 0);
        return [
          n,
          fmt(m.idleBytes / MiB, 1),
          ...counts.map((c) => fmt(m.counts[c]?.rssBytes / MiB, 1)),
          ...counts.map((c) => m.counts[c]?.bytesPerStream),
          ten ? `${fmt(ten.rssBytes / MiB, 0)}${ten.extrapolatedFrom ? ' (extrap.)' : ''}` : null,
          left,
        ];
      }),
    ),
  );

  say('\n(e) PostgreSQL instead of PGlite (memory: see (d))');
  if (!r.postgres || r.postgres.notRun) say(`not run (${r.postgres?.notRun ?? 'parley not measured'})`);
  else {
    const pg = r.postgres;
    const ds = d.streaming;
    say(
      table(
        ['target', 'added p50', 'added p99', ...keys, 'TTFT ovh p50', 'TTFT ovh p99'],
        [p, pg]
          .filter(Boolean)
          .map((x) => [
            x.label,
            fmt(x.latencyMs?.p50 - d.latencyMs?.p50),
            fmt(x.latencyMs?.p99 - d.latencyMs?.p99),
            ...keys.map((k) => fmt(x.throughput[k]?.rps, 0)),
            fmt(x.streaming?.ttftPathMs.p50 - ds?.ttftPathMs.p50),
            fmt(x.streaming?.ttftPathMs.p99 - ds?.ttftPathMs.p99),
          ]),
      ),
    );
  }

  const usageRows = [...names.map((n) => r.speed[n]), r.postgres].filter((x) => x?.usageRecords);
  if (usageRows.length) {
    say('\nUsage records after (a)–(c): every answered request must have one (read back through GraphQL)');
    say(
      table(
        ['target', 'answered', 'records written', 'all written after (ms)'],
        usageRows.map((x) => [x.label, x.usageRecords.answered, x.usageRecords.written, x.usageRecords.drainedAfterMs]),
      ),
    );
  }

  const cpuRows = [...names.map((n) => r.speed[n]), r.postgres].filter((x) => x?.cpu);
  if (cpuRows.length) {
    say(
      '\nCPU seconds each server used during (a)–(c): main thread vs its other threads (GC helpers, an embedded database worker)',
    );
    say(
      table(
        ['target', 'main thread', 'other threads', 'busiest other thread'],
        cpuRows.map((x) => [x.label, x.cpu.mainSeconds, x.cpu.otherSeconds, x.cpu.busiestOthers[0]?.seconds]),
      ),
    );
  }

  say('\nTargets (issue 5, item 4)');
  say(
    table(
      ['target', 'measured', 'goal', 'met', 'note'],
      r.targets.map((t) => [t.name, t.value, t.limit, t.met === null ? '?' : t.met ? 'yes' : 'MISSED', t.note ?? '']),
    ),
  );
}
