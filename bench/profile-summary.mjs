/**
 * Where a process's CPU time went, from a V8 .cpuprofile (`node --cpu-prof`): self time per
 * function and per area (Parley's own code, each dependency, Node internals, GC, idle).
 *
 *   node bench/profile-summary.mjs <file.cpuprofile> [top=25]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

function areaOf(url, name) {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/dist/')) return 'parley';
  return url.replace(/^file:\/\//, '');
}

/**
 * @param fromUs only samples taken at or after this time (µs, CLOCK_MONOTONIC as in the
 *   profile's startTime and process.hrtime): leaves start-up and warm-up out.
 * @returns {{ totalMs: number, functions: object[], areas: object[] }}
 */
export function summarizeProfile(profile, top = 25, fromUs = 0) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  const { samples, timeDeltas } = profile;
  let t = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    t += timeDeltas[i] ?? 0;
    if (t >= fromUs) selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + (timeDeltas[i] ?? 0));
  }
  const fns = new Map();
  const areas = new Map();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { callFrame: f } = byId.get(id);
    const name = f.functionName || '(anonymous)';
    const where = f.url ? `${f.url.replace(/^file:\/\/.*?(node_modules\/|dist\/)/, '$1')}:${f.lineNumber + 1}` : '';
    const key = `${name} ${where}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const area = areaOf(f.url, name);
    areas.set(area, (areas.get(area) ?? 0) + us);
    total += us;
  }
  const rank = (m) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), pct: Math.round((us / total) * 1000) / 10 }));
  return { totalMs: Math.round(total / 1000), functions: rank(fns), areas: rank(areas) };
}

export function formatSummary(s) {
  const lines = [`total ${s.totalMs} ms sampled`, '  by area:'];
  for (const a of s.areas.slice(0, 12)) lines.push(`    ${String(a.pct).padStart(5)}%  ${a.name}`);
  lines.push('  top functions by self time:');
  for (const f of s.functions) lines.push(`    ${String(f.pct).padStart(5)}%  ${f.name}`);
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node bench/profile-summary.mjs <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(formatSummary(summarizeProfile(JSON.parse(readFileSync(file, 'utf8')), Number(process.argv[3] ?? 25))));
}
