/**
 * Startup failures, as the real process meets them: each exits non-zero at once with one line
 * on its output that names the setting to fix, and no stack trace.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';

const dataDir = mkdtempSync(join(tmpdir(), 'parley-startup-'));
/** If a case regresses to a running server, the test's timeout ends the wait and this ends the process. */
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

/** Runs `npm start`'s entry point until it exits; its whole output (stdout and stderr). */
async function failedStart(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      PORT: '0',
      PARLEY_DATA_DIR: dataDir,
      DATABASE_URL: '',
      OPENAI_API_KEY: '',
      PARLEY_API_KEYS: '',
      PARLEY_CONFIG: '',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const [code] = await once(child, 'exit');
  return { code, output };
}

/** One line, "parley: …", naming `variable`, no stack trace. */
function assertOneLine(result: { code: number | null; output: string }, variable: string, detail: RegExp): void {
  assert.notEqual(result.code, 0, result.output);
  const lines = result.output.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${result.output}`);
  assert.match(lines[0]!, new RegExp(`^parley: .*${variable}`));
  assert.match(lines[0]!, detail);
  assert.doesNotMatch(result.output, /\bat .*\(.*:\d+:\d+\)|TypeError|DatabaseError/);
}

const config = (name: string, text: string): string => {
  const path = join(dataDir, name);
  writeFileSync(path, text);
  return path;
};

/** A PostgreSQL server to name a missing database on: CI's, else the usual local one. */
const pgBase = process.env.PARLEY_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const pgUnavailable = await (async () => {
  const c = new pg.Client({ connectionString: pgBase, connectionTimeoutMillis: 2_000 });
  try {
    await c.connect();
    return false;
  } catch (err) {
    if (process.env.CI === 'true') return false; // CI has PostgreSQL: fail instead of skipping
    return `PostgreSQL is not reachable at ${new URL(pgBase).host} (${(err as Error).message}): the wrong-database case needs a server`;
  } finally {
    await c.end().catch(() => {});
  }
})();

describe('startup failures name the variable, in one line, without a stack trace', { timeout: 60_000 }, () => {
  it('OPENAI_BASE_URL without scheme (was "TypeError: Invalid URL")', async () => {
    assertOneLine(
      await failedStart({ OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: 'api.openai.com/v1' }),
      'OPENAI_BASE_URL',
      /has no scheme: write "http:\/\/api\.openai\.com\/v1"/,
    );
  });

  it('DATABASE_URL with a mysql:// scheme (was "unexpected copyData message")', async () => {
    const result = await failedStart({ DATABASE_URL: 'mysql://root:hunter2@127.0.0.1:3306/parley' });
    assertOneLine(result, 'DATABASE_URL', /must be a PostgreSQL URL.*"mysql:\/\/"/);
    assert.doesNotMatch(result.output, /hunter2/, 'the password is not printed');
  });

  it('DATABASE_URL unreachable: a closed port', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    await new Promise((r) => server.close(r)); // now nothing listens there
    const result = await failedStart({ DATABASE_URL: `postgresql://postgres:hunter2@127.0.0.1:${port}/parley` });
    assertOneLine(result, 'DATABASE_URL', new RegExp(`127\\.0\\.0\\.1:${port} \\(connection refused\\)`));
    assert.doesNotMatch(result.output, /hunter2/);
  });

  it('DATABASE_URL naming a database that does not exist', { skip: pgUnavailable }, async () => {
    const url = new URL(pgBase);
    const name = `parley_missing_${randomBytes(4).toString('hex')}`;
    url.pathname = `/${name}`;
    assertOneLine(
      await failedStart({ DATABASE_URL: url.toString() }),
      'DATABASE_URL',
      new RegExp(`database "${name}" does not exist.*createdb`),
    );
  });

  it('a busy PORT', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    try {
      assertOneLine(
        await failedStart({ PORT: String(port), HOST: '127.0.0.1' }),
        'PORT',
        new RegExp(`PORT ${port} is already in use on 127\\.0\\.0\\.1.*set PORT to a free port`),
      );
    } finally {
      server.close();
    }
  });

  it('a defaultProvider that names no provider', async () => {
    assertOneLine(
      await failedStart({ PARLEY_CONFIG: config('default-provider.yaml', 'defaultProvider: nowhere\n') }),
      'PARLEY_CONFIG',
      /defaultProvider "nowhere" is not defined under providers/,
    );
  });

  it('a target naming "openai" without OPENAI_API_KEY', async () => {
    const path = config(
      'openai-target.yaml',
      'models:\n  voice: { targets: [{ provider: openai, model: gpt-4o-mini }] }\n',
    );
    assertOneLine(
      await failedStart({ PARLEY_CONFIG: path }),
      'PARLEY_CONFIG',
      /models\.voice\.targets\[0\] names provider "openai", which is not configured.*set OPENAI_API_KEY/,
    );
  });

  it('a provider entry with a mistake (the field, not "Expected union value")', async () => {
    const path = config(
      'provider.yaml',
      'providers:\n  local: { type: openai-compatible, base_url: http://127.0.0.1:11434/v1 }\n',
    );
    assertOneLine(
      await failedStart({ PARLEY_CONFIG: path }),
      'PARLEY_CONFIG',
      /\/providers\/local: unknown field "base_url" — did you mean baseUrl\?/,
    );
  });
});
