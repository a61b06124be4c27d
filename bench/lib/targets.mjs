/**
 * The servers under test, each started on the server core with the same mock behind it:
 *   direct  – the mock itself (the baseline every "added" figure subtracts)
 *   bare    – bench/bare-proxy.mjs, the floor for a Node gateway
 *   fastify – bench/fastify-proxy.mjs, the floor for a Fastify gateway that parses the JSON
 *   parley  – dist/main.js in its default configuration (info logging, usage records on)
 *   portkey – @portkey-ai/gateway's Node server, routed to the mock by headers
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, SERVER_CORE, spawnPinned, stop, waitForPort } from './procs.mjs';

const require = createRequire(import.meta.url);
/** Pids of the servers now running (for the CPU monitor). */
export const live = new Set();
export const ROOT = new URL('../..', import.meta.url).pathname;
/** Where the Parley under test is built (dist/main.js): this checkout unless PARLEY_BENCH_ROOT says otherwise. */
export const PARLEY_ROOT = process.env.PARLEY_BENCH_ROOT || ROOT;
/**
 * Another Parley build measured beside it in the same rounds, labelled `parley@baseline`
 * (e.g. a clean export of the previous commit), so a change is judged by a ratio taken in
 * one run rather than by figures from two runs on a noisy machine.
 */
export const BASELINE_ROOT = process.env.PARLEY_BENCH_BASELINE_ROOT || '';
export const PARLEY_KEY = 'pk-bench-0123456789abcdef';
/** Lets the bench read Parley's usage records back through GraphQL (admin fields). */
export const PARLEY_ADMIN_KEY = 'pk-bench-admin-0123456789abcdef';
export const UPSTREAM_KEY = 'sk-bench';
export const CHAT_PATH = '/v1/chat/completions';

/** A small, typical request: a system prompt and one user turn. */
export function chatBody(stream) {
  return JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are a helpful assistant. Answer briefly.' },
      { role: 'user', content: 'Say hello in one short sentence, please.' },
    ],
    temperature: 0.2,
    ...(stream ? { stream: true } : {}),
  });
}

function portkeyEntry() {
  const pkg = require.resolve('@portkey-ai/gateway/package.json');
  return join(pkg, '..', 'build', 'start-server.js');
}

/**
 * @param {'direct'|'bare'|'fastify'|'parley'|'portkey'} name
 * @param {{ mockPort: number, databaseUrl?: string, nodeArgs?: string[], label?: string, root?: string }} opts
 */
export async function startTarget(name, opts) {
  const mockOrigin = `http://127.0.0.1:${opts.mockPort}`;
  const base = { 'content-type': 'application/json' };
  if (name === 'direct') {
    return {
      name,
      label: opts.label ?? name,
      port: opts.mockPort,
      pid: null,
      headers: { ...base, authorization: `Bearer ${UPSTREAM_KEY}` },
      stop: async () => {},
    };
  }
  const port = await freePort();
  // Every server measures its own event-loop delay (bench/lib/loop-lag.mjs), read per phase.
  const lagFile = join(tmpdir(), `parley-bench-lag-${process.pid}-${port}.json`);
  const nodeArgs = ['--import', join(ROOT, 'bench/lib/loop-lag.mjs'), ...(opts.nodeArgs ?? [])];
  let proc;
  let headers;
  let cleanup = () => {};
  if (name === 'bare') {
    proc = spawnPinned(
      SERVER_CORE,
      process.execPath,
      [...nodeArgs, join(ROOT, 'bench/bare-proxy.mjs'), String(port), mockOrigin],
      { env: { BENCH_LOOP_LAG_FILE: lagFile } },
    );
    headers = { ...base, authorization: `Bearer ${UPSTREAM_KEY}` };
  } else if (name === 'fastify') {
    proc = spawnPinned(
      SERVER_CORE,
      process.execPath,
      [...nodeArgs, join(ROOT, 'bench/fastify-proxy.mjs'), String(port), mockOrigin],
      { env: { BENCH_LOOP_LAG_FILE: lagFile, NODE_ENV: 'production' } },
    );
    headers = { ...base, authorization: `Bearer ${UPSTREAM_KEY}` };
  } else if (name === 'parley') {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
    cleanup = () => rmSync(dataDir, { recursive: true, force: true });
    // Parley logs one line per request (the default, info): they go to /dev/null, as a
    // log shipper reading stdout would cost the load generator's core otherwise.
    const env = {
      PORT: String(port),
      HOST: '127.0.0.1',
      OPENAI_API_KEY: UPSTREAM_KEY,
      OPENAI_BASE_URL: `${mockOrigin}/v1`,
      PARLEY_API_KEYS: PARLEY_KEY,
      PARLEY_ADMIN_KEY,
      PARLEY_DATA_DIR: dataDir,
      NODE_ENV: 'production',
      BENCH_LOOP_LAG_FILE: lagFile,
    };
    env.DATABASE_URL = opts.databaseUrl;
    const root = opts.root ?? PARLEY_ROOT;
    proc = spawnPinned(SERVER_CORE, process.execPath, [...nodeArgs, join(root, 'dist/main.js')], { env, cwd: root });
    headers = { ...base, authorization: `Bearer ${PARLEY_KEY}` };
  } else if (name === 'portkey') {
    proc = spawnPinned(SERVER_CORE, process.execPath, [...nodeArgs, portkeyEntry(), `--port=${port}`, '--headless'], {
      env: { NODE_ENV: 'production', BENCH_LOOP_LAG_FILE: lagFile },
      cwd: ROOT,
    });
    headers = {
      ...base,
      authorization: `Bearer ${UPSTREAM_KEY}`,
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': `${mockOrigin}/v1`,
    };
  } else {
    throw new Error(`unknown target ${name}`);
  }
  await waitForPort(port, proc, 60_000);
  live.add(proc.pid);
  return {
    name,
    label: opts.label ?? name,
    port,
    pid: proc.pid,
    proc,
    headers,
    /** Starts (1st, 3rd… call) or ends and returns (2nd, 4th…) an event-loop delay window. */
    loopLag: () => readLoopLag(proc.pid, lagFile),
    stop: async () => {
      await stop(proc);
      live.delete(proc.pid);
      rmSync(lagFile, { force: true });
      cleanup();
    },
  };
}

async function readLoopLag(pid, file) {
  let before = 0;
  try {
    before = JSON.parse(readFileSync(file, 'utf8')).seq;
  } catch {
    /* no window yet */
  }
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 50; i++) {
    await sleep(20);
    try {
      const lag = JSON.parse(readFileSync(file, 'utf8'));
      if (lag.seq > before) return lag;
    } catch {
      /* not written yet */
    }
  }
  return null;
}
