/**
 * How much CPU other work on the machine took while the benchmark ran: every second, the
 * machine's busy time (/proc/stat) minus the busy time of the benchmark's own processes
 * (/proc/<pid>/stat). On a shared machine this is the noise the figures carry.
 */
import { readFileSync } from 'node:fs';

const TICK = 100; // USER_HZ: clock ticks per second on Linux

function machineBusyTicks() {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = cpu;
  return user + nice + system + irq + softirq + steal;
}

function processTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime
  } catch {
    return null;
  }
}

/** @param {() => number[]} pids the benchmark's processes, asked at every sample */
export function startCpuMonitor(pids) {
  const seen = new Map();
  let last = { busy: machineBusyTicks(), at: Date.now() };
  const shares = [];
  const sample = () => {
    const busy = machineBusyTicks();
    let ours = 0;
    for (const pid of pids()) {
      const t = processTicks(pid);
      if (t === null) continue;
      ours += t - (seen.get(pid) ?? t);
      seen.set(pid, t);
    }
    const seconds = (Date.now() - last.at) / 1000;
    if (seconds > 0) shares.push(Math.max(0, (busy - last.busy - ours) / TICK / seconds));
    last = { busy, at: Date.now() };
  };
  const timer = setInterval(sample, 1000);
  timer.unref();
  return {
    /** Mean and peak of other work, in cores (2 = both cores fully busy). */
    stop() {
      clearInterval(timer);
      const mean = shares.length ? shares.reduce((a, b) => a + b, 0) / shares.length : 0;
      return {
        otherCoresMean: Math.round(mean * 100) / 100,
        otherCoresPeak: Math.round(Math.max(0, ...shares) * 100) / 100,
      };
    },
  };
}
