/**
 * `npm start`'s entry point as a real process, for what test/main-process.test.ts leaves out:
 * SIGINT (Ctrl-C) shuts down as gracefully as SIGTERM — records written, exit 0 — and a
 * database that can't be reached at startup stops Parley (it can't start without its schema,
 * docs/data.md) instead of letting it listen. Every child is killed in `finally`, so a broken
 * build fails these tests instead of leaving a process behind.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStore } from '../src/store/index.js';
import { captureLogger, eventually, testSettings } from './helpers/store.js';

interface Started {
  child: ChildProcess;
  output(): string;
  /** Resolves with [code, signal] when the process exits. */
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

function start(env: Record<string, string>): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, OPENAI_API_KEY: '', PARLEY_API_KEYS: '', PARLEY_CONFIG: '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) =>
    child.once('exit', (code, signal) => r([code, signal])),
  );
  return { child, output: () => out, exited };
}

/** Kills the child if it is still running (a failed assertion, a hang) and waits for it. */
async function stop(s: Started): Promise<void> {
  if (s.child.exitCode === null && s.child.signalCode === null) {
    s.child.kill('SIGKILL');
    await s.exited;
  }
}

/** Bounds a hang (the process never exiting), not the time the work takes. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still running after ${ms} ms`)), ms)),
    ),
  ]).finally(() => clearTimeout(timer));
}

describe('main process: SIGINT and startup', () => {
  it('shuts down on SIGINT as on SIGTERM: the buffered records are written, exit 0', { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-sigint-'));
    // A 10-minute flush interval: only the shutdown flush can write the record.
    const s = start({
      PARLEY_DATA_DIR: dataDir,
      DATABASE_URL: '',
      PARLEY_USAGE_FLUSH_MS: '600000',
      PARLEY_BUILTIN_TOKEN_DELAY_MS: '0',
    });
    try {
      await eventually(() => /listening on http/.test(s.output()), `Parley started (output: ${s.output()})`, 60_000);
      const url = /listening on (http:\/\/[^\s)]+)/.exec(s.output())![1]!;
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'sigint-1' },
        body: JSON.stringify({ model: 'default', messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(res.status, 200);
      await res.text();
      s.child.kill('SIGINT');
      assert.deepEqual(await within(s.exited, 60_000, 'the shutdown after SIGINT'), [0, null], s.output());
      assert.match(s.output(), /"signal":"SIGINT".*shutting down/);
    } finally {
      await stop(s);
    }
    try {
      const store = await openStore(testSettings({ PARLEY_DATA_DIR: dataDir, DATABASE_URL: '' }), captureLogger().log);
      try {
        const { rows } = await store.db.pool.query(`SELECT status FROM "RequestLog" WHERE "requestId" = 'sigint-1'`);
        assert.deepEqual(rows, [{ status: 200 }], 'the record was written at shutdown');
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('stops at startup, without listening, when DATABASE_URL cannot be reached', { timeout: 120_000 }, async () => {
    // A loopback port nobody listens on: connecting is refused.
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const { port } = srv.address() as { port: number };
    await new Promise((r) => srv.close(r));
    const s = start({ DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/parley` });
    try {
      const [code] = await within(s.exited, 60_000, 'Parley with an unreachable database');
      assert.equal(code, 1, s.output());
      assert.doesNotMatch(s.output(), /listening on/);
      assert.match(s.output(), /^parley: /m, 'the reason is printed');
    } finally {
      await stop(s);
    }
  });
});
