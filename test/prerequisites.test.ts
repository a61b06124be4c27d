/**
 * Nothing disappears from CI silently: a suite whose prerequisite is missing is a skip counted in
 * the summary locally, and a failing test naming it under CI. And CI's database script
 * (scripts/ci-create-db.mjs, used by .ci/run instead of psql) creates and drops a database.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import pg from 'pg';
import { needs } from './helpers/prerequisites.js';
import { postgresBackend } from './helpers/store.js';

const FIXTURE = 'test/fixtures/needs-missing.fixture.ts';
const runFixture = (ci: string | undefined) => {
  const env = { ...process.env };
  delete env.CI;
  delete env.NODE_TEST_CONTEXT; // set by the runner for its own children: it would change the child's report
  if (ci !== undefined) env.CI = ci;
  // The child's own TAP report, so the parent runner doesn't fold it into its summary.
  return spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', FIXTURE], {
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
};

describe('missing test prerequisites', () => {
  it('are counted as skipped when CI is not set', () => {
    for (const ci of [undefined, 'false']) {
      const out = runFixture(ci);
      assert.equal(out.status, 0, out.stdout + out.stderr);
      assert.match(out.stdout, /^# skipped 1$/m);
      assert.match(out.stdout, /# SKIP SERVER_URL not set/);
    }
  });

  it('fail the run, naming what is missing, when CI is set', () => {
    const out = runFixture('true');
    assert.equal(out.status, 1, out.stdout + out.stderr);
    assert.match(out.stdout, /^# fail 1$/m);
    assert.match(out.stdout, /a server is missing under CI \(CI=true\): SERVER_URL not set/);
  });
});

describe('scripts/ci-create-db.mjs', { skip: needs('PostgreSQL', postgresBackend().unavailable) }, () => {
  it('creates a database, prints its URL, and drops it', async () => {
    const base = new URL(process.env.PARLEY_TEST_DATABASE_URL!);
    const env = {
      ...process.env,
      PGHOST: base.hostname,
      PGPORT: base.port || '5432',
      PGUSER: decodeURIComponent(base.username) || 'postgres',
      PGPASSWORD: decodeURIComponent(base.password),
    };
    const name = `parley_ci_script_${process.pid}`;
    const created = spawnSync(process.execPath, ['scripts/ci-create-db.mjs', 'create', name], {
      env,
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(created.status, 0, created.stderr);
    const url = created.stdout.trim();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      assert.deepEqual((await client.query('SELECT current_database() AS db')).rows, [{ db: name }]);
    } finally {
      await client.end();
    }
    const dropped = spawnSync(process.execPath, ['scripts/ci-create-db.mjs', 'drop', name], {
      env,
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(dropped.status, 0, dropped.stderr);
    const check = new pg.Client({
      host: env.PGHOST,
      port: Number(env.PGPORT),
      user: env.PGUSER,
      password: env.PGPASSWORD || undefined,
      database: 'postgres',
    });
    await check.connect();
    try {
      assert.deepEqual((await check.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rows, []);
    } finally {
      await check.end();
    }
  });

  it('refuses a name that is not a plain identifier', () => {
    const out = spawnSync(process.execPath, ['scripts/ci-create-db.mjs', 'create', 'x"; DROP DATABASE postgres; --'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(out.status, 2);
    assert.match(out.stderr, /usage/);
  });
});
