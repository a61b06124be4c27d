/**
 * Log lines are written in batches (one write for many lines), yet none waits long and
 * none is lost when the process exits.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { bufferedDestination } from '../src/logging/destination.js';

/** README (LOG_LEVEL): "Lines go to stdout in batches (up to 4 KiB …)". */
const DOCUMENTED_BATCH_BYTES = 4096;

const dir = mkdtempSync(join(tmpdir(), 'parley-log-'));
const closed = (dest: ReturnType<typeof bufferedDestination>) =>
  new Promise((resolve) => {
    dest.once('close', resolve);
    dest.end();
  });
const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);

describe('buffered log destination', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('holds lines back until the flush interval, then writes them all at once', async () => {
    const file = join(dir, 'interval.log');
    const fd = openSync(file, 'w');
    const dest = bufferedDestination(fd, 100);
    const writes: number[] = [];
    dest.on('write', (n: number) => writes.push(n));
    const log = pino(dest);
    for (let i = 0; i < 10; i++) log.info({ i }, 'request');
    assert.equal(readFileSync(file, 'utf8'), '', 'nothing written while the buffer is small');
    for (let waited = 0; lines(file).length < 10 && waited < 5000; waited += 20) await sleep(20);
    assert.deepEqual(
      lines(file).map((l) => JSON.parse(l).i),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.equal(writes.filter((n) => n > 0).length, 1, 'ten lines, one write');
    await closed(dest); // closes fd
  });

  it('writes as soon as a buffer-full of lines is waiting', async () => {
    const file = join(dir, 'full.log');
    const fd = openSync(file, 'w');
    const dest = bufferedDestination(fd, 60_000);
    const log = pino(dest);
    const pad = 'x'.repeat(200);
    let n = 0;
    while (n * 200 < DOCUMENTED_BATCH_BYTES * 2) log.info({ n: n++, pad }, 'request');
    for (let waited = 0; lines(file).length === 0 && waited < 5000; waited += 20) await sleep(20);
    // The timer is a minute away: only a full buffer can have caused this write.
    assert.ok(lines(file).length > 0, `a buffer-full was written without waiting for the timer (${n} lines logged)`);
    await closed(dest); // closes fd
  });

  it('writes what is buffered when the process exits', () => {
    const script = `
      import pino from 'pino';
      import { bufferedDestination } from ${JSON.stringify(new URL('../src/logging/destination.ts', import.meta.url).href)};
      const log = pino(bufferedDestination(1, 60_000));
      log.info('first');
      log.info('last words');
      process.exit(3);
    `;
    const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(out.status, 3, out.stderr);
    assert.deepEqual(
      out.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).msg),
      ['first', 'last words'],
    );
  });
});
