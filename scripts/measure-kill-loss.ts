/**
 * How many usage records a `kill -9` loses (docs/data.md, "What can still be lost").
 *
 * Starts Parley (src/main.ts, embedded database unless DATABASE_URL is set) as a child
 * process, sends chat requests at RATE per second, kills it with SIGKILL after a random
 * 2–3 s, then opens the database and counts the requests that got their full answer but
 * have no RequestLog row. Repeats KILLS times.
 * Run: node --import tsx scripts/measure-kill-loss.ts   (RATE=300 KILLS=5; PARLEY_USAGE_FLUSH_MS passes through)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { readSettings } from '../src/config/env.js';
import { openStore } from '../src/store/index.js';

const RATE = Number(process.env.RATE ?? 300);
const KILLS = Number(process.env.KILLS ?? 5);
const dataDir = mkdtempSync(join(tmpdir(), 'parley-kill-'));
const env = {
  ...process.env,
  PORT: '0',
  PARLEY_DATA_DIR: dataDir,
  PARLEY_API_KEYS: '',
  OPENAI_API_KEY: '',
  PARLEY_BUILTIN_TOKEN_DELAY_MS: '0',
};

async function once(round: number): Promise<{ answered: number; lost: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[^\s)]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before listening`)));
  });
  const answered: string[] = [];
  let n = 0;
  const timer = setInterval(() => {
    const id = `kill-${round}-${n++}`;
    fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': id },
      body: JSON.stringify({ model: 'default', messages: [{ role: 'user', content: 'hi' }] }),
    })
      .then(async (res) => {
        await res.text();
        if (res.status === 200) answered.push(id);
      })
      .catch(() => {});
  }, 1000 / RATE);
  await new Promise((r) => setTimeout(r, 2000 + Math.random() * 1000));
  const acked = answered.slice(); // answered before the kill
  child.kill('SIGKILL');
  clearInterval(timer);
  await new Promise((r) => child.once('exit', r));
  const store = await openStore(readSettings({ ...env, LOG_LEVEL: 'silent' }), pino({ level: 'silent' }));
  try {
    const { rows } = await store.db.pool.query(
      `SELECT count(*)::int AS n FROM "RequestLog" WHERE "requestId" = ANY($1)`,
      [acked],
    );
    return { answered: acked.length, lost: acked.length - rows[0].n };
  } finally {
    await store.close();
  }
}

try {
  for (let i = 0; i < KILLS; i++) {
    const { answered, lost } = await once(i);
    console.log(`kill ${i + 1}: ${answered} requests answered, ${lost} of them without a usage row`);
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
