/**
 * The console in a real browser (issue 15): playwright-core drives Debian's Chromium, headless,
 * over a Parley with its embedded database and the offline model. A person signs in with the
 * admin key, creates a key, uses it from the Playground, revokes it, and finds the request in
 * the logs and the usage chart — whose totals equal GraphQL's. No request may leave 127.0.0.1
 * (every other host is intercepted and refused), the page may log no error, and a phone-width
 * layout may not scroll sideways. Screenshots go to test-artifacts/console/ (gitignored).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { postJson } from './helpers/parley.js';
import { needs } from './helpers/prerequisites.js';
import { eventually, gql, pgliteBackend, type StoreParley, startStoreParley } from './helpers/store.js';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN = 'admin-key-for-the-console-test';
const SHOTS = join(import.meta.dirname, '../test-artifacts/console');
const ROOT = join(import.meta.dirname, '..');
/** The key Vapi's requests carry (a key from the environment). */
const ENV_KEY = 'env-key-for-the-console-test';

describe('the console in a browser', {
  skip: needs(
    'a Chromium browser',
    existsSync(CHROMIUM)
      ? null
      : `${CHROMIUM} not found (apt-get install -y chromium): the console browser test is skipped`,
  ),
}, () => {
  const backend = pgliteBackend();
  let p: StoreParley;
  let browser: Browser;
  let page: Page;
  /** Requests the page tried to send anywhere but Parley (refused). */
  const outside: string[] = [];
  /** Errors the page logged (console.error, uncaught exceptions, failed loads). */
  const pageErrors: string[] = [];

  before(async () => {
    // The test runs the console's current source, whatever console/dist holds.
    execFileSync(process.execPath, [join(ROOT, 'console/build.mjs')], { stdio: 'inherit' });
    mkdirSync(SHOTS, { recursive: true });
    p = await startStoreParley({
      ...(await backend.fresh()),
      PARLEY_ADMIN_KEY: ADMIN,
      PARLEY_KEY_REFRESH_MS: '200',
      PARLEY_USAGE_FLUSH_MS: '50',
      PARLEY_API_KEYS: ENV_KEY,
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === '127.0.0.1' || url.protocol === 'data:') return route.continue();
      outside.push(url.href);
      return route.abort('blockedbyclient');
    });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });
  after(async () => {
    await browser?.close();
    await p?.close();
    await backend.cleanup();
  });

  const text = async (l: Locator) => (await l.textContent()) ?? '';
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const nav = async (title: string) => {
    await page.getByRole('navigation', { name: 'Console pages' }).getByRole('link', { name: title }).click();
    await page.getByRole('heading', { level: 1, name: title }).waitFor();
  };

  it('signs in, creates a key, uses it from the playground, revokes it, and shows the request in logs and usage', async () => {
    // `/` leads to the console.
    await page.goto(`${p.url}/`);
    await page.getByRole('link', { name: 'Console' }).click();
    await page.getByLabel('Admin key').waitFor();
    assert.equal(new URL(page.url()).pathname, '/console/');
    await shot('01-sign-in');

    // A wrong key is refused with Parley's own message; the right one, typed and sent with Enter, signs in.
    await page.getByLabel('Admin key').fill('not-the-admin-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await text(page.getByRole('alert')), /admin key|PARLEY_ADMIN_KEY/i);
    await page.getByLabel('Admin key').fill(ADMIN);
    await page.getByLabel('Admin key').press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Playground' }).waitFor();

    // Keys: create one; its secret is shown once.
    await nav('Keys');
    await page.getByText('No database keys yet').waitFor();
    await page.getByLabel('Name').fill('browser-key');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await text(page.getByTestId('secret'))).trim();
    assert.match(secret, /^pk_/);
    await page.locator('tr[data-key-name="browser-key"]').waitFor();
    await shot('02-key-created');
    const keyId = (await gql(p.url, '{ apiKeys { id name } }', undefined, ADMIN)).body.data!.apiKeys[0].id as string;

    // Playground, with the new key: the answer streams in, with time to first token and tokens.
    await page.getByRole('button', { name: 'Try it in the playground' }).click();
    await page.getByRole('heading', { level: 1, name: 'Playground' }).waitFor();
    assert.equal(await page.getByTestId('client-key').inputValue(), secret);
    await page.getByTestId('model').selectOption('default');
    await page.getByLabel('User message').fill('Hello from the browser test');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('button', { name: 'Send' }).waitFor({ state: 'visible' });
    await page.waitForFunction(() => !document.querySelector('button[type="submit"]')?.hasAttribute('disabled'));
    const answer = await text(page.getByTestId('answer'));
    assert.match(answer, /Hello from the browser test|offline|not an LLM/i, answer);
    assert.match(await text(page.getByTestId('ttft')), /\d+ ms|\d\.\d+ s/);
    assert.match(await text(page.getByTestId('tokens')), /\d+ \/ \d+/);
    assert.match(
      await text(page.locator('pre code').first()),
      /curl -N http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions/,
    );
    await shot('03-playground');

    // The request is recorded under the new key.
    await eventually(
      async () =>
        (
          await gql(
            p.url,
            'query($k: String) { requestLogs(filter: { keyId: $k }) { nodes { id } } }',
            { k: keyId },
            ADMIN,
          )
        ).body.data!.requestLogs.nodes.length === 1,
      'the playground request is recorded',
    );

    // Revoke it: two steps, then it is refused on the chat route.
    await nav('Keys');
    await page.getByRole('button', { name: 'Revoke browser-key' }).click();
    await page.getByRole('button', { name: 'Confirm: revoke browser-key' }).click();
    await page.locator('tr[data-key-name="browser-key"]').getByText('revoked').waitFor();
    await shot('04-key-revoked');
    await eventually(
      async () =>
        (
          await postJson(
            `${p.url}/v1/chat/completions`,
            { model: 'default', messages: [{ role: 'user', content: 'hi' }] },
            { authorization: `Bearer ${secret}` },
          )
        ).status === 401,
      'the revoked key is refused',
    );

    // Logs: the request, newest first, filtered by the key; its detail view.
    await nav('Logs');
    await page.getByLabel('Key id').fill(keyId);
    await page.getByRole('button', { name: 'Apply' }).click();
    const row = page.locator('table[data-testid="logs"] tbody tr');
    await row.first().waitFor();
    assert.equal(await row.count(), 1);
    assert.match(await text(row.first()), /200[\s\S]*openai[\s\S]*default[\s\S]*builtin/);
    await row.first().getByRole('button').click();
    const detail = page.getByTestId('log-detail');
    await detail.waitFor();
    assert.match(await text(detail), new RegExp(keyId));
    await shot('05-logs');

    // A Vapi call of two turns: the call view lists them in order, with their latencies.
    for (const turn of ['Hello?', 'Are you open today?']) {
      const res = await postJson(
        `${p.url}/chat/completions`,
        { model: 'default', messages: [{ role: 'user', content: turn }], call: { id: 'call_console_1' } },
        { authorization: `Bearer ${ENV_KEY}` },
      );
      assert.equal(res.status, 200);
      await res.text();
    }
    await eventually(
      async () =>
        (
          await gql(
            p.url,
            '{ requestLogs(filter: { vapiCallId: "call_console_1" }) { nodes { id } } }',
            undefined,
            ADMIN,
          )
        ).body.data!.requestLogs.nodes.length === 2,
      'the call is recorded',
    );
    await page.getByLabel('Key id').fill('');
    await page.getByLabel('Vapi call id').fill('call_console_1');
    await page.getByRole('button', { name: 'Apply' }).click();
    const call = page.getByTestId('call-view');
    await call.locator('tbody tr').nth(1).waitFor();
    assert.equal(await call.locator('tbody tr').count(), 2);
    assert.match(await text(call), /call_console_1[\s\S]*1[\s\S]*200[\s\S]*2[\s\S]*200/);
    await shot('05b-vapi-call');

    // Usage: totals equal GraphQL's for the same range; the chart holds every request.
    await nav('Usage');
    await page.getByTestId('chart-requests').waitFor();
    const shown = Number((await text(page.getByTestId('total-requests'))).replace(/,/g, ''));
    const shownTokens = Number((await text(page.getByTestId('total-tokens'))).replace(/,/g, ''));
    const usage = (
      await gql(
        p.url,
        'query($f: DateTime) { usage(from: $f, groupBy: MODEL) { requests totalTokens } }',
        { f: new Date(Date.now() - 86_400_000).toISOString() },
        ADMIN,
      )
    ).body.data!.usage as { requests: number; totalTokens: number }[];
    assert.equal(
      shown,
      usage.reduce((s, b) => s + b.requests, 0),
    );
    assert.equal(
      shownTokens,
      usage.reduce((s, b) => s + b.totalTokens, 0),
    );
    assert.ok(shown >= 1);
    assert.equal(Number(await page.getByTestId('chart-requests').getAttribute('data-total')), shown);
    assert.equal(await page.locator('[data-testid="chart-requests"] canvas').count(), 1, 'uPlot drew the chart');
    await page.getByLabel('By').selectOption('KEY');
    await page.getByTestId('usage-table').getByText('browser-key').waitFor();
    await shot('06-usage');

    // Routes: the model table and the provider's health.
    await nav('Routes');
    await page.getByTestId('routes').getByText('default').first().waitFor();
    assert.match(await text(page.getByTestId('providers')), /builtin/);
    await shot('07-routes');

    // A phone's width: nothing scrolls sideways but the tables inside their own frame.
    await page.setViewportSize({ width: 390, height: 800 });
    for (const title of ['Logs', 'Usage', 'Keys', 'Playground']) {
      await nav(title);
      await page.waitForTimeout(100);
      const { overflow, wide } = await page.evaluate(() => ({
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        // The outermost elements reaching past the window's right edge, to say what to fix.
        wide: [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
          .filter((e) => !e.parentElement || e.parentElement.getBoundingClientRect().right <= window.innerWidth + 1)
          .map((e) => `${e.tagName.toLowerCase()}.${e.className}`)
          .slice(0, 5),
      }));
      assert.ok(overflow <= 0, `${title} at 390 px scrolls sideways by ${overflow} px: ${wide.join(', ')}`);
    }
    await shot('08-phone-playground');

    assert.deepEqual(outside, [], 'no request leaves 127.0.0.1');
    assert.deepEqual(pageErrors, [], 'the page logged no error');
  });
});
