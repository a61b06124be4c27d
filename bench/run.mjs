/**
 * `npm run bench`: Parley side by side with the mock called directly, a bare Node proxy, a bare Fastify proxy and
 * the Portkey gateway, on one machine. Servers run on core 0; this process (the load
 * generator) and the mock upstream run on core 1.
 *
 *   npm run bench                  full run (about 6–8 minutes)
 *   npm run bench -- --quick       short run for iteration (about 1–2 minutes)
 *   npm run bench -- --profile     also profile Parley with --cpu-prof under load
 *   npm run bench -- --only=parley,bare   a subset of the gateways (direct always runs)
 *   npm run bench -- --phases=a,c         a subset of the measurements (a b c d e)
 *   PARLEY_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_bench npm run bench
 *                                  adds phase (e): Parley with PostgreSQL instead of PGlite
 *
 * Every loop is bounded by count and by time; only loopback addresses are used. Results go
 * to bench/results/<date>.json and a table on stdout. Any non-2xx answer, socket error,
 * timeout or stream that did not finish makes the run invalid, and the table says so.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { sequentialLatency } from './drivers/latency.mjs';
import { openStreams } from './drivers/memory.mjs';
import { streamTiming } from './drivers/streams.mjs';
import { throughput } from './drivers/throughput.mjs';
import { startCpuMonitor } from './lib/cpu-monitor.mjs';
import {
  freePort,
  LOAD_CORE,
  nofileLimit,
  pinSelf,
  rssOf,
  spawnPinned,
  stop,
  threadCpu,
  threadCpuDelta,
  waitForPort,
} from './lib/procs.mjs';
import { summary } from './lib/stats.mjs';
import {
  BASELINE_ROOT,
  CHAT_PATH,
  chatBody,
  live,
  PARLEY_ADMIN_KEY,
  PARLEY_ROOT,
  ROOT,
  startTarget,
} from './lib/targets.mjs';
import { formatSummary, summarizeProfile } from './profile-summary.mjs';
import { checkTargets, printReport } from './report.mjs';

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const option = (name) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const quick = flag('quick');
const gateways = (option('only') ?? 'bare,fastify,parley,portkey').split(',').filter(Boolean);
const phases = new Set((option('phases') ?? 'a,b,c,d,e').split(','));

const plan = quick
  ? {
      latencyRequests: 1000,
      latencyWarmup: 300,
      seconds: 3,
      warmupSeconds: 4,
      ttftStreams: 128,
      memCounts: [200, 1000],
      streamTokens: 20,
    }
  : {
      latencyRequests: 5000,
      latencyWarmup: 1000,
      seconds: 10,
      warmupSeconds: 10,
      ttftStreams: 640,
      memCounts: [1000, 10000],
      streamTokens: 20,
    };
plan.connections = [32, 256];
plan.rounds = quick ? 2 : 4;
plan.throughputRounds = 2;
plan.ttftConcurrency = 32;
plan.tokenDelayMs = [20, 50];
plan.slowIntervalMs = 10_000;

// A gateway holds two sockets per stream (client and upstream): with the hard open-file
// limit below 20,200 the largest count is lowered to what fits, and the report says so.
const fdLimit = nofileLimit();
const maxStreams = Math.floor((fdLimit - 200) / 2);
plan.memCounts = plan.memCounts.map((n) => Math.min(n, maxStreams));

const databaseUrl = process.env.PARLEY_BENCH_DATABASE_URL || process.env.DATABASE_URL || '';
const invalid = [];
const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function noteErrors(where, counts) {
  const bad = Object.entries(counts).filter(([, v]) => v > 0);
  if (bad.length) invalid.push(`${where}: ${bad.map(([k, v]) => `${v} ${k}`).join(', ')}`);
}

async function setProfile(mockPort, profile) {
  const res = await request(`http://127.0.0.1:${mockPort}/_bench/profile`, {
    method: 'POST',
    body: JSON.stringify(profile),
  });
  await res.body.text();
}

async function mockStats(mockPort) {
  const res = await request(`http://127.0.0.1:${mockPort}/_bench/stats`);
  return res.body.json();
}

/** Usage records Parley has written so far (GraphQL, admin key): the sum over models. */
async function usageRows(target) {
  const res = await request(`http://127.0.0.1:${target.port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${PARLEY_ADMIN_KEY}` },
    body: JSON.stringify({ query: '{ usage(groupBy: MODEL) { requests } }' }),
  });
  const body = await res.body.json();
  if (!body.data) throw new Error(`GraphQL usage query failed: ${JSON.stringify(body.errors ?? body).slice(0, 300)}`);
  return body.data.usage.reduce((n, b) => n + b.requests, 0);
}

/**
 * Every request Parley answered must end up as a usage record, whatever the load did to the
 * writer (buffered, low-priority worker). Waits for the count to reach what the bench saw
 * answered (client-aborted requests at the end of a load run add records, never remove
 * them) and reports how long after the load that took.
 */
async function checkUsageRecords(target, answered, maxMs = 120_000) {
  const t0 = Date.now();
  let written = 0;
  for (;;) {
    written = await usageRows(target);
    if (written >= answered || Date.now() - t0 > maxMs) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const out = { answered, written, drainedAfterMs: Date.now() - t0 };
  if (written < answered)
    invalid.push(
      `${target.label}: ${answered - written} usage records missing ${maxMs / 1000} s after the load (${written} written, ${answered} answered)`,
    );
  return out;
}

/** One non-stream and one stream request must succeed before a gateway is measured. */
async function smoke(target) {
  for (const stream of [false, true]) {
    const res = await request(`http://127.0.0.1:${target.port}${CHAT_PATH}`, {
      method: 'POST',
      headers: target.headers,
      body: chatBody(stream),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200 || (stream && !text.includes('data: [DONE]'))) {
      throw new Error(
        `${target.name} smoke test (${stream ? 'stream' : 'json'}) answered ${res.statusCode}: ${text.slice(0, 300)}`,
      );
    }
  }
}

const FAST = (tokens) => ({ tokens, delayMinMs: 0, delayMaxMs: 0, holdIntervalMs: 0 });

/**
 * (a)–(c) for all targets at once. Every target is started (all idle on the server core but
 * the one being measured) and the measurements run in rounds, the targets taking turns in
 * alternating order, so background load on this shared machine falls on all of them alike
 * instead of on whichever happened to run during it.
 */
async function measureSpeed(specs, mockPort) {
  const targets = [];
  const out = {};
  try {
    for (const spec of specs) {
      log(`${spec.label}: starting`);
      const t = await startTarget(spec.name, {
        mockPort,
        databaseUrl: spec.databaseUrl,
        label: spec.label,
        root: spec.root,
      });
      targets.push(t);
      out[t.label] = { label: t.label, throughput: {} };
    }
    await setProfile(mockPort, FAST(plan.streamTokens));
    // Answers each target gave (2xx), to check Parley's usage records against at the end.
    const answered = new Map(targets.map((t) => [t, 0]));
    const count = (t, n) => answered.set(t, answered.get(t) + n);
    // Warm-up before anything is measured. Parley needs several seconds under load to reach
    // its steady rate (measured alone on this machine: 4.5k requests/s over the first 4 s of
    // json@32, 6.0k over the next 4 s and after); every target gets the same warm-up.
    for (const t of targets) {
      await smoke(t);
      count(t, 2);
      count(t, (await throughput(t, { connections: 32, stream: false, seconds: plan.warmupSeconds })).total);
      count(
        t,
        (await throughput(t, { connections: 32, stream: true, seconds: Math.ceil(plan.warmupSeconds / 2) })).total,
      );
    }
    const cpuBefore = new Map(targets.filter((t) => t.pid).map((t) => [t, threadCpu(t.pid)]));
    const turns = (round) => (round % 2 === 0 ? targets : [...targets].reverse());

    if (phases.has('a')) {
      const per = Math.ceil(plan.latencyRequests / plan.rounds);
      log(`(a) sequential latency: ${plan.rounds} rounds × ${per} requests per target`);
      const samples = new Map(targets.map((t) => [t, []]));
      const lags = new Map(targets.map((t) => [t, []]));
      for (let round = 0; round < plan.rounds; round++) {
        for (const t of turns(round)) {
          await t.loopLag?.();
          const a = await sequentialLatency(t, {
            requests: per,
            warmup: round === 0 ? plan.latencyWarmup : 50,
            maxMs: 60_000,
          });
          const lag = await t.loopLag?.();
          if (lag?.p99 !== undefined) lags.get(t).push(lag);
          noteErrors(`${t.label} latency`, { errors: a.errors });
          count(t, a.answered);
          samples.get(t).push(...a.samples);
        }
      }
      for (const t of targets) {
        out[t.label].latencyMs = summary(samples.get(t));
        // The server's own event-loop delay during (a): the worst round's p99 and max.
        const l = lags.get(t);
        if (l.length)
          out[t.label].loopLagDuringLatencyMs = {
            p50: Math.max(...l.map((x) => x.p50)),
            p99: Math.max(...l.map((x) => x.p99)),
            max: Math.max(...l.map((x) => x.max)),
          };
      }
    }

    for (const stream of phases.has('b') ? [false, true] : []) {
      for (const connections of plan.connections) {
        const key = `${stream ? 'stream' : 'json'}@${connections}`;
        const seconds = Math.max(1, Math.round(plan.seconds / plan.throughputRounds));
        log(`(b) throughput ${key}: ${plan.throughputRounds} rounds × ${seconds} s per target`);
        const sums = new Map(targets.map((t) => [t, { total: 0, seconds: 0, rounds: [] }]));
        for (let round = 0; round < plan.throughputRounds; round++) {
          for (const t of turns(round)) {
            const r = await throughput(t, { connections, stream, seconds });
            noteErrors(`${t.label} throughput ${key}`, { non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts });
            count(t, r.total);
            const acc = sums.get(t);
            acc.total += r.total;
            acc.seconds += r.seconds;
            acc.rounds.push(r);
          }
        }
        for (const t of targets) {
          const acc = sums.get(t);
          out[t.label].throughput[key] = {
            rps: acc.total / acc.seconds,
            total: acc.total,
            seconds: acc.seconds,
            rounds: acc.rounds,
          };
        }
      }
    }

    if (phases.has('c')) {
      const per = Math.ceil(plan.ttftStreams / plan.rounds);
      log(
        `(c) streaming, ${plan.tokenDelayMs.join('–')} ms between tokens: ${plan.rounds} rounds × ${per} streams per target`,
      );
      await setProfile(mockPort, {
        tokens: plan.streamTokens,
        delayMinMs: plan.tokenDelayMs[0],
        delayMaxMs: plan.tokenDelayMs[1],
        holdIntervalMs: 0,
      });
      const acc = new Map(targets.map((t) => [t, { ttft: [], ttftPath: [], relay: [] }]));
      for (let round = 0; round < plan.rounds; round++) {
        for (const t of turns(round)) {
          const c = await streamTiming(t, { concurrency: plan.ttftConcurrency, streams: per, maxMs: 60_000 });
          noteErrors(`${t.label} streaming`, { errors: c.errors });
          count(t, c.ttft.length);
          const a = acc.get(t);
          a.ttft.push(...c.ttft);
          a.ttftPath.push(...c.ttftPath);
          a.relay.push(...c.relay);
        }
      }
      for (const t of targets) {
        const a = acc.get(t);
        out[t.label].streaming = {
          streams: a.ttft.length,
          ttftMs: summary(a.ttft),
          ttftPathMs: summary(a.ttftPath),
          chunkRelayMs: summary(a.relay),
        };
      }
      await setProfile(mockPort, FAST(plan.streamTokens));
    }
    for (const t of targets) {
      if (!t.pid) continue;
      out[t.label].rssAfterLoadBytes = rssOf(t.pid);
      out[t.label].cpu = threadCpuDelta(t.pid, cpuBefore.get(t), threadCpu(t.pid));
    }
    for (const t of targets.filter((x) => x.name === 'parley')) {
      out[t.label].usageRecords = await checkUsageRecords(t, answered.get(t));
      log(
        `${t.label}: ${out[t.label].usageRecords.written} usage records for ${answered.get(t)} answered requests, ${out[t.label].usageRecords.drainedAfterMs} ms after the load`,
      );
    }
  } finally {
    for (const t of targets) await t.stop();
  }
  return out;
}

async function waitForUpstreamIdle(mockPort, maxMs = 15_000) {
  const deadline = Date.now() + maxMs;
  let stats = await mockStats(mockPort);
  while (stats.openStreams > 0 && Date.now() < deadline) {
    await sleep(250);
    stats = await mockStats(mockPort);
  }
  return stats.openStreams;
}

/**
 * RSS idle and with N concurrent open streams, each N in a freshly started server so the
 * figures do not carry what an earlier count left behind (some gateways keep the upstream
 * stream open after the client has gone; that is recorded, not treated as an error).
 */
async function measureMemory(name, mockPort, databaseUrl, root) {
  const out = { counts: {} };
  for (const count of plan.memCounts) {
    log(`${name}: (d) memory, ${count} streams`);
    await setProfile(mockPort, FAST(plan.streamTokens));
    const target = await startTarget(name, { mockPort, databaseUrl, root });
    try {
      await smoke(target);
      // A short warm-up so "idle" is a server that has served traffic, not a cold one.
      const w = await sequentialLatency(target, { requests: 500, warmup: 0, maxMs: 30_000 });
      noteErrors(`${name} memory warm-up`, { errors: w.errors });
      await sleep(1000);
      const idle = rssOf(target.pid);
      out.idleBytes ??= idle;
      await setProfile(mockPort, {
        tokens: plan.streamTokens,
        holdIntervalMs: plan.slowIntervalMs,
        holdMaxMs: 180_000,
      });
      const before = (await mockStats(mockPort)).openStreams;
      const t0 = Date.now();
      const streams = await openStreams(target, { count, maxMs: 120_000 });
      const openMs = Date.now() - t0;
      await sleep(1000);
      const rss = rssOf(target.pid);
      const upstreamOpen = (await mockStats(mockPort)).openStreams - before;
      log(
        `${name}: ${streams.open}/${count} streams open in ${openMs} ms (${upstreamOpen} upstream), RSS ${(rss / 2 ** 20).toFixed(1)} MiB`,
      );
      noteErrors(`${name} ${count} streams`, {
        failed: streams.failed,
        'not open upstream': Math.max(0, streams.open - upstreamOpen),
      });
      await streams.close();
      const left = await waitForUpstreamIdle(mockPort, 5000);
      out.counts[count] = {
        open: streams.open,
        failed: streams.failed,
        openMs,
        upstreamOpen,
        idleBytes: idle,
        rssBytes: rss,
        bytesPerStream: streams.open ? Math.round((rss - idle) / streams.open) : null,
        upstreamLeftOpenAfterClientsLeft: left,
      };
    } finally {
      await target.stop();
      await setProfile(mockPort, FAST(plan.streamTokens));
      await waitForUpstreamIdle(mockPort, 10_000);
    }
  }
  return out;
}

/** Parley under load with --cpu-prof, once for JSON and once for streams; summaries of self time. */
async function profileParley(mockPort, stamp) {
  const out = {};
  for (const stream of [false, true]) {
    const dir = join(ROOT, 'bench/results/profiles', `${stamp}-${stream ? 'stream' : 'json'}`);
    mkdirSync(dir, { recursive: true });
    log(`profiling parley (${stream ? 'stream' : 'json'}) into ${dir}`);
    const target = await startTarget('parley', { mockPort, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
    let fromUs = 0;
    try {
      await smoke(target);
      // Warmed up first; the summaries count only the samples taken after it.
      await throughput(target, { connections: 256, stream, seconds: plan.warmupSeconds });
      fromUs = Number(process.hrtime.bigint() / 1000n);
      await throughput(target, { connections: 256, stream, seconds: plan.seconds });
    } finally {
      await target.stop();
    }
    // One file per thread: CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; thread 0 is the main one.
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    const threadOf = (f) => Number(f.split('.').at(-3));
    const main = files.find((f) => threadOf(f) === 0);
    const kind = stream ? 'stream' : 'json';
    out[kind] = main
      ? {
          file: join(dir, main),
          fromUs,
          ...summarizeProfile(JSON.parse(readFileSync(join(dir, main), 'utf8')), 25, fromUs),
        }
      : { error: 'no profile written' };
    for (const f of files.filter((x) => x !== main)) {
      out[`${kind}, worker thread ${threadOf(f)}`] = {
        file: join(dir, f),
        ...summarizeProfile(JSON.parse(readFileSync(join(dir, f), 'utf8')), 12, fromUs),
      };
    }
  }
  return out;
}

function parleyUsesDatabaseUrl() {
  // Phase (e) needs a Parley that reads DATABASE_URL (the persistence issue).
  const dist = join(PARLEY_ROOT, 'dist');
  if (!existsSync(dist)) return false;
  const stack = [dist];
  while (stack.length) {
    const dir = stack.pop();
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.name.endsWith('.js') && readFileSync(p, 'utf8').includes('DATABASE_URL')) return true;
    }
  }
  return false;
}

async function main() {
  if (!existsSync(join(PARLEY_ROOT, 'dist/main.js')))
    throw new Error('dist/main.js is missing: run `npm run build` first (npm run bench does).');
  const pinned = pinSelf(LOAD_CORE);
  const started = new Date();
  const stamp = started.toISOString().replace(/[:.]/g, '-').slice(0, 19);
  log(
    `${quick ? 'quick' : 'full'} run; load generator pinned to core ${LOAD_CORE}: ${pinned}; open-file limit ${fdLimit}`,
  );

  const mockPort = await freePort();
  const mock = spawnPinned(LOAD_CORE, process.execPath, [join(ROOT, 'bench/mock-upstream.mjs'), String(mockPort)]);
  const monitor = startCpuMonitor(() => [process.pid, mock.pid, ...live]);
  const results = {
    date: started.toISOString(),
    mode: quick ? 'quick' : 'full',
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      node: process.version,
      kernel: release(),
      openFileLimit: fdLimit,
      loadavgAtStart: loadavg(),
    },
    plan,
    speed: {},
    memory: {},
    postgres: null,
    profile: null,
    invalid,
  };
  try {
    await waitForPort(mockPort, mock);
    const specs = ['direct', ...gateways].map((name) => ({ name, label: name }));
    const baseline =
      BASELINE_ROOT && gateways.includes('parley')
        ? { name: 'parley', label: 'parley@baseline', root: BASELINE_ROOT }
        : null;
    if (baseline) specs.push(baseline);
    if (!phases.has('e')) {
      results.postgres = { notRun: 'phase e not selected (--phases)' };
    } else if (!databaseUrl) {
      results.postgres = { notRun: 'no PARLEY_BENCH_DATABASE_URL or DATABASE_URL given' };
    } else if (!parleyUsesDatabaseUrl()) {
      results.postgres = {
        notRun: 'this Parley build does not read DATABASE_URL yet (the persistence issue has not landed)',
      };
    } else if (gateways.includes('parley')) {
      specs.push({ name: 'parley', label: 'parley+postgres', databaseUrl });
    }
    try {
      results.speed = await measureSpeed(specs, mockPort);
      if (results.speed['parley+postgres']) {
        results.postgres = results.speed['parley+postgres'];
        delete results.speed['parley+postgres'];
      }
    } catch (err) {
      invalid.push(`speed: ${err.message}`);
      log(`speed phases failed: ${err.message}`);
    }
    // The Fastify floor is a throughput reference only.
    const memoryTargets = gateways.filter((name) => name !== 'fastify').map((name) => ({ name, label: name }));
    if (baseline) memoryTargets.push(baseline);
    if (results.postgres && !results.postgres.notRun)
      memoryTargets.push({ name: 'parley', label: 'parley+postgres', databaseUrl });
    for (const { name, label, databaseUrl: db, root } of phases.has('d') ? memoryTargets : []) {
      try {
        results.memory[label] = await measureMemory(name, mockPort, db, root);
      } catch (err) {
        invalid.push(`${label} memory: ${err.message}`);
        log(`${label} memory failed: ${err.message}`);
      }
    }
    if (flag('profile')) results.profile = await profileParley(mockPort, stamp);
  } finally {
    await stop(mock);
  }
  results.machine.loadavgAtEnd = loadavg();
  results.machine.otherWork = monitor.stop();
  results.durationS = Math.round((Date.now() - started.getTime()) / 1000);
  results.targets = checkTargets(results);
  results.valid = invalid.length === 0;
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, 'bench/results', `${stamp}${quick ? '-quick' : ''}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  printReport(results);
  if (results.profile) {
    for (const [kind, p] of Object.entries(results.profile))
      console.log(`\nParley CPU profile (${kind}):\n${p.error ?? formatSummary(p)}`);
  }
  console.log(`\nResults: ${file}`);
  if (!results.valid) process.exitCode = 1;
}

main().catch((err) => {
  console.error('bench failed:', err);
  process.exit(1);
});
