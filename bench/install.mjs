/**
 * Run by `npm run bench` before bench/run.mjs: installs the benchmark-only packages
 * (bench/package.json: the Portkey gateway, autocannon) into bench/node_modules when they
 * are missing or older than bench/package-lock.json. They live apart so that installing
 * Parley never downloads them; the bench's other imports (undici, fastify) are Parley's own.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const lock = `${dir}package-lock.json`;
const installed = `${dir}node_modules/.package-lock.json`; // written by npm after every install

if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  console.error('[bench] installing the benchmark-only packages: npm --prefix bench ci');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
