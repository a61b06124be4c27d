/**
 * Preloaded into each server under test (`node --import bench/lib/loop-lag.mjs …`): measures
 * the process's event-loop delay with perf_hooks, only between two SIGUSR2 signals (its 1 ms
 * sampling timer would otherwise keep the process awake and change the other phases). Each
 * signal writes $BENCH_LOOP_LAG_FILE: the second one with what was seen in between.
 * Benchmark-only: nothing here is part of Parley.
 */
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.BENCH_LOOP_LAG_FILE;
if (file) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  let seq = 0;
  let on = false;
  process.on('SIGUSR2', () => {
    const ms = (ns) => Math.round((ns / 1e6) * 1000) / 1000;
    const seen = on ? { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), mean: ms(h.mean) } : {};
    if (on) h.disable();
    else {
      h.reset();
      h.enable();
    }
    on = !on;
    writeFileSync(file, JSON.stringify({ seq: ++seq, ...seen }));
  });
}
