/** The README's client examples, run as a user runs them: Python requests, JS fetch, the openai SDK. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { startParley, type TestParley } from './helpers/parley.js';

const run = promisify(execFile);
const KEY = 'sk-example';

for (const mode of ['built-in model', 'mock upstream'] as const) {
  describe(`README client examples against the ${mode}`, () => {
    let p: TestParley;
    let up: MockUpstream | undefined;
    let expected: RegExp;
    before(async () => {
      if (mode === 'mock upstream') {
        up = await startMockUpstream();
        p = await startParley({ PARLEY_API_KEYS: KEY, OPENAI_API_KEY: 'sk-up', OPENAI_BASE_URL: up.url });
        expected = /^Hello from the mock upstream\.\n$/;
      } else {
        p = await startParley({ PARLEY_API_KEYS: KEY });
        expected = /^This is Parley's built-in offline model.*"Tell me a joke".*\n$/;
      }
    });
    after(async () => {
      await p.close();
      await up?.close();
    });
    const env = () => ({ ...process.env, PARLEY_URL: p.url, PARLEY_API_KEY: KEY });

    it('Python requests streaming loop', async () => {
      const { stdout } = await run('python3', ['examples/stream.py'], { env: env(), timeout: 20_000 });
      assert.match(stdout, expected);
    });

    it('JavaScript fetch streaming loop', async () => {
      const { stdout } = await run(process.execPath, ['examples/stream.mjs'], { env: env(), timeout: 20_000 });
      assert.match(stdout, expected);
    });

    it('official openai SDK', async () => {
      const { stdout } = await run(process.execPath, ['examples/openai-sdk.mjs'], { env: env(), timeout: 20_000 });
      assert.match(stdout, expected);
    });

    it('Python loop fails loudly with a wrong key', async () => {
      await assert.rejects(
        run('python3', ['examples/stream.py'], { env: { ...env(), PARLEY_API_KEY: 'wrong' }, timeout: 20_000 }),
        /401/,
      );
    });
  });
}
