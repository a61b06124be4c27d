/**
 * `npm start`'s entry point as a real process: starts on its embedded defaults, says where it
 * listens, who may call it and what `default` is, serves, exits 0 on SIGTERM — also when the signal comes again during the shutdown — and refuses
 * a data dir another process is starting on.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openStore } from '../src/store/index.js';
import { captureLogger, eventually, testSettings } from './helpers/store.js';

/** Every process started; a failed assertion can leave one running, and it would keep the test file from ending. */
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[^\s)]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.stderr.on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`exited ${code} before listening:\n${out}`)));
  });
  return { child, listening, output: () => out };
}

describe('main process', () => {
  it('starts with no configuration, answers with the built-in model, and exits 0 on SIGTERM', {
    timeout: 60_000,
  }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-main-'));
    try {
      const { child, listening, output } = start({
        PORT: '0',
        PARLEY_DATA_DIR: dataDir,
        PARLEY_BUILTIN_TOKEN_DELAY_MS: '0',
        OPENAI_API_KEY: '',
        PARLEY_API_KEYS: '',
        DATABASE_URL: '',
      });
      const url = await listening;
      assert.match(
        output(),
        /"msg":"Parley is listening on http:\/\/127\.0\.0\.1:\d+ — auth: open \(no key configured: answers only requests made on this machine[^"]*\) — default → builtin \(offline model\); docs at http:\/\/127\.0\.0\.1:\d+\/docs"/,
      );
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'default', messages: [{ role: 'user', content: 'hello there' }] }),
      });
      assert.equal(res.status, 200);
      assert.match((await res.json()).choices[0].message.content, /hello there/);
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      assert.equal(code, 0, output());
      assert.doesNotMatch(output(), /hello there/, 'message text is not logged by default');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('never logs the client key, the upstream key or message text; PARLEY_LOG_CONTENT=1 logs the messages', {
    timeout: 60_000,
  }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-main-'));
    try {
      for (const logContent of ['', '1']) {
        const env = {
          PORT: '0',
          PARLEY_DATA_DIR: dataDir,
          DATABASE_URL: '',
          PARLEY_API_KEYS: 'client-key-SECRET1',
          OPENAI_API_KEY: 'upstream-key-SECRET2',
          OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
          PARLEY_LOG_CONTENT: logContent,
          LOG_LEVEL: 'debug',
        };
        const { child, listening, output } = start(env);
        const url = await listening;
        assert.match(
          output(),
          /listening on \S+ — auth: key required \(1 from PARLEY_API_KEYS\) — default → openai gpt-4o-mini;/,
        );
        const post = (auth: string) =>
          fetch(`${url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: auth },
            body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'private words' }] }),
          });
        assert.equal((await post('Bearer client-key-SECRET1')).status, 502);
        assert.equal((await post('Bearer wrong-key-SECRET3')).status, 401);
        child.kill('SIGTERM');
        await once(child, 'exit');
        assert.doesNotMatch(output(), /SECRET/, 'no key in the logs');
        assert.match(output(), /"status":502/);
        if (logContent) assert.match(output(), /private words/);
        else assert.doesNotMatch(output(), /private words/);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('states the database keys in force at startup, and warns when the last one is revoked and no other key exists', {
    timeout: 120_000,
  }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-main-'));
    const env = {
      PORT: '0',
      PARLEY_DATA_DIR: dataDir,
      DATABASE_URL: '',
      OPENAI_API_KEY: '',
      PARLEY_API_KEYS: '',
      PARLEY_ADMIN_KEY: '',
    };
    const withStore = async (fn: (store: Awaited<ReturnType<typeof openStore>>) => Promise<void>) => {
      const store = await openStore(testSettings({ PARLEY_DATA_DIR: dataDir, DATABASE_URL: '' }), captureLogger().log);
      try {
        await fn(store);
      } finally {
        await store.close();
      }
    };
    /** The "listening" log line, parsed. */
    const startupLine = async () => {
      const { child, listening, output } = start(env);
      await listening;
      child.kill('SIGTERM');
      await once(child, 'exit');
      const line = output()
        .split('\n')
        .find((l) => l.includes('listening on'));
      return JSON.parse(line!) as { level: number; msg: string };
    };
    try {
      let ids: string[] = [];
      await withStore(async (store) => {
        ids = [(await store.keys.create({ name: 'a' })).key.id, (await store.keys.create({ name: 'b' })).key.id];
        await store.keys.revoke(ids[0]!);
      });
      const one = await startupLine();
      assert.equal(one.level, 30);
      assert.match(one.msg, /— auth: key required \(1 in the database\) —/);

      await withStore(async (store) => void (await store.keys.revoke(ids[1]!)));
      const none = await startupLine();
      assert.equal(none.level, 40, 'a warning');
      assert.match(
        none.msg,
        /— auth: key required, but every database key is revoked or expired and PARLEY_API_KEYS is empty, so every request is refused \(401\): set PARLEY_ADMIN_KEY and create one with the createApiKey mutation, or set PARLEY_API_KEYS —/,
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to start on a public HOST without API keys, with a clear message and exit 1', {
    timeout: 60_000,
  }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-main-'));
    try {
      const { child, listening, output } = start({
        PORT: '0',
        HOST: '0.0.0.0',
        PARLEY_DATA_DIR: dataDir,
        PARLEY_API_KEYS: '',
        DATABASE_URL: '',
      });
      await assert.rejects(listening);
      assert.equal(child.exitCode, 1);
      assert.match(output(), /Refusing to listen on 0\.0\.0\.0.*PARLEY_API_KEYS/s);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('ignores a repeated SIGTERM: every open stream completes and every record is written before it exits', {
    timeout: 120_000,
  }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-main-'));
    try {
      // Slow tokens keep the streams open across both signals; a 10-minute flush interval
      // means only the shutdown flush can have written the records.
      const env = {
        PORT: '0',
        PARLEY_DATA_DIR: dataDir,
        DATABASE_URL: '',
        OPENAI_API_KEY: '',
        PARLEY_API_KEYS: '',
        PARLEY_BUILTIN_TOKEN_DELAY_MS: '40',
        PARLEY_USAGE_FLUSH_MS: '600000',
      };
      const { child, listening, output } = start(env);
      const url = await listening;
      const exited = once(child, 'exit');
      const ids = Array.from({ length: 20 }, (_, i) => `twice-${i}`);
      const streams = await Promise.all(
        ids.map(async (id) => {
          const res = await fetch(`${url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-request-id': id },
            body: JSON.stringify({
              model: 'default',
              stream: true,
              max_tokens: 40,
              messages: [{ role: 'user', content: 'Tell me a story about a lighthouse keeper and the sea' }],
            }),
          });
          assert.equal(res.status, 200);
          const reader = res.body!.getReader();
          const first = await reader.read(); // the stream is under way
          return { reader, text: new TextDecoder().decode(first.value) };
        }),
      );
      child.kill('SIGTERM');
      await eventually(() => /shutting down/.test(output()), 'the shutdown began');
      child.kill('SIGTERM');
      child.kill('SIGINT');
      for (const s of streams) {
        const decoder = new TextDecoder();
        for (;;) {
          const { value, done } = await s.reader.read();
          if (done) break;
          s.text += decoder.decode(value, { stream: true });
        }
        assert.match(s.text, /data: \[DONE\]\n\n$/, 'the stream completed');
      }
      const [code, signal] = await exited;
      assert.deepEqual([code, signal], [0, null], output());
      assert.match(output(), /ignoring SIGTERM/);
      assert.match(output(), /ignoring SIGINT/);

      const store = await openStore(testSettings({ PARLEY_DATA_DIR: dataDir, DATABASE_URL: '' }), captureLogger().log);
      try {
        const { rows } = await store.db.pool.query(
          `SELECT "requestId", status, "clientAborted" FROM "RequestLog" WHERE "requestId" LIKE 'twice-%'`,
        );
        assert.deepEqual(rows.map((r) => r.requestId).sort(), [...ids].sort(), 'every record written');
        assert.ok(rows.every((r) => r.status === 200 && r.clientAborted === false));
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('of two processes started at once on one data dir, starts exactly one; the other exits 1 naming PARLEY_DATA_DIR', {
    timeout: 120_000,
  }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-main-'));
    try {
      const env = { PORT: '0', PARLEY_DATA_DIR: dataDir, DATABASE_URL: '', OPENAI_API_KEY: '', PARLEY_API_KEYS: '' };
      const both = [start(env), start(env)];
      const results = await Promise.allSettled(both.map((p) => p.listening));
      const winners = both.filter((_, i) => results[i]!.status === 'fulfilled');
      const losers = both.filter((_, i) => results[i]!.status === 'rejected');
      assert.equal(winners.length, 1, both.map((p) => p.output()).join('\n---\n'));
      assert.equal(losers[0]!.child.exitCode, 1);
      const lines = losers[0]!.output().trim().split('\n');
      assert.equal(lines.length, 1, `one line: ${losers[0]!.output()}`);
      assert.match(
        lines[0]!,
        /^parley: PARLEY_DATA_DIR=.* is already in use by another (Parley|process).*DATABASE_URL/,
      );
      winners[0]!.child.kill('SIGTERM');
      const [code] = await once(winners[0]!.child, 'exit');
      assert.equal(code, 0, winners[0]!.output());
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
