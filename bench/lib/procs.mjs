/**
 * Starting and stopping the benchmark's processes: every one pinned to a core with taskset,
 * with its open-file limit raised as far as the hard limit allows, and stopped by pid
 * (SIGTERM, then SIGKILL after a bounded wait).
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export const SERVER_CORE = 0;
export const LOAD_CORE = 1;

/** The open-file limit a child can get: 65536 where allowed, else the hard limit. */
export function nofileLimit() {
  try {
    const hard = execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
    return hard === 'unlimited' ? 65536 : Math.min(65536, Number(hard));
  } catch {
    return 1024;
  }
}

/** Pins this process (the load generator) to its core. */
export function pinSelf(core = LOAD_CORE) {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Spawns `command args` pinned to `core`. bash raises the fd limit then execs taskset, which
 * execs the program: the returned pid is the program's own (for /proc/<pid>/status).
 */
export function spawnPinned(core, command, args, { env = {}, cwd } = {}) {
  const limit = nofileLimit();
  const merged = { ...process.env, ...env };
  // An undefined value removes an inherited variable (DATABASE_URL outside phase e).
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k];
  // stdout goes to /dev/null: reading a server's log pipe would cost the load generator's core.
  const child = spawn('bash', ['-c', `ulimit -n ${limit}; exec taskset -c ${core} "$@"`, 'bash', command, ...args], {
    cwd,
    env: merged,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  return {
    child,
    pid: child.pid,
    stderrTail: () => stderr,
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
}

/** Waits (bounded) until something accepts TCP connections on the port. */
export async function waitForPort(port, proc, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let dead = false;
  proc?.exited.then(() => (dead = true));
  while (Date.now() < deadline) {
    if (dead) throw new Error(`process exited before listening on ${port}: ${proc.stderrTail()}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listening on ${port} after ${timeoutMs} ms: ${proc?.stderrTail() ?? ''}`);
}

export async function stop(proc, timeoutMs = 15_000) {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  const t = sleep(timeoutMs).then(() => 'timeout');
  if ((await Promise.race([proc.exited, t])) === 'timeout') {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
}

/** Resident set size of a process in bytes, from /proc. */
export function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

/**
 * CPU seconds per thread of a process (utime + stime from /proc/<pid>/task/<tid>/stat), so a
 * report can tell the main thread's work from worker threads' (an embedded database, GC).
 */
export function threadCpu(pid) {
  const out = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out[tid] = (Number(f[11]) + Number(f[12])) / 100;
      } catch {
        /* the thread ended */
      }
    }
  } catch {
    /* the process ended */
  }
  return out;
}

/** Per-thread CPU used between two threadCpu() snapshots: the main thread and the rest, busiest first. */
export function threadCpuDelta(pid, before, after) {
  const main = (after[pid] ?? 0) - (before[pid] ?? 0);
  const others = Object.entries(after)
    .filter(([tid]) => Number(tid) !== pid)
    .map(([tid, s]) => ({ tid: Number(tid), seconds: Math.round((s - (before[tid] ?? 0)) * 100) / 100 }))
    .filter((t) => t.seconds > 0)
    .sort((a, b) => b.seconds - a.seconds);
  return {
    mainSeconds: Math.round(main * 100) / 100,
    otherSeconds: Math.round(others.reduce((a, t) => a + t.seconds, 0) * 100) / 100,
    busiestOthers: others.slice(0, 3),
  };
}
