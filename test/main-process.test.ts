/** `npm start`'s entry point as a real process: starts on its embedded defaults, serves, exits 0 on SIGTERM. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { describe, it } from 'node:test';

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
  it('starts with no configuration, answers with the built-in model, and exits 0 on SIGTERM', { timeout: 60_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-main-'));
    try {
      const { child, listening, output } = start({ PORT: '0', PARLEY_DATA_DIR: dataDir, PARLEY_BUILTIN_TOKEN_DELAY_MS: '0', OPENAI_API_KEY: '', PARLEY_API_KEYS: '', DATABASE_URL: '' });
      const url = await listening;
      const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'default', messages: [{ role: 'user', content: 'hello there' }] }) });
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

  it('never logs the client key, the upstream key or message text; PARLEY_LOG_CONTENT=1 logs the messages', { timeout: 60_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-main-'));
    try {
      for (const logContent of ['', '1']) {
        const env = { PORT: '0', PARLEY_DATA_DIR: dataDir, DATABASE_URL: '', PARLEY_API_KEYS: 'client-key-SECRET1', OPENAI_API_KEY: 'upstream-key-SECRET2', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', PARLEY_LOG_CONTENT: logContent, LOG_LEVEL: 'debug' };
        const { child, listening, output } = start(env);
        const url = await listening;
        const post = (auth: string) =>
          fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'private words' }] }) });
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

  it('refuses to start on a public HOST without API keys, with a clear message and exit 1', { timeout: 60_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-main-'));
    try {
      const { child, listening, output } = start({ PORT: '0', HOST: '0.0.0.0', PARLEY_DATA_DIR: dataDir, PARLEY_API_KEYS: '', DATABASE_URL: '' });
      await assert.rejects(listening);
      assert.equal(child.exitCode, 1);
      assert.match(output(), /Refusing to listen on 0\.0\.0\.0.*PARLEY_API_KEYS/s);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
