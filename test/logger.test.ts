/**
 * One logger for the whole process (logging/logger.ts): the store's startup lines (main.ts)
 * get the same caps and redaction as the app's — before, main.ts built a bare pino whose
 * errors were logged whole, however long the message a database or upstream sent.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_LOG_LINE_CHARS, MAX_LOGGED_CHARS } from '../src/logging/limits.js';
import { parleyLogger } from '../src/logging/logger.js';
import { captureWrites } from './helpers/log-capture.js';

const capture = captureWrites;

describe('parleyLogger', () => {
  it('caps an error message and stack, and any over-long line, and redacts keys', () => {
    const { stream, lines } = capture();
    const log = parleyLogger('info', stream);
    log.warn({ err: new Error('x'.repeat(100_000)) }, 'database refused');
    log.info({ blob: 'y'.repeat(100_000) }, 'something uncapped');
    log.info({ headers: { authorization: 'Bearer sk-secret' } }, 'a request');
    assert.equal(lines.length, 3);
    const err = JSON.parse(lines[0]!).err;
    assert.ok(err.message.length < MAX_LOGGED_CHARS + 100, 'message capped');
    assert.ok(lines[1]!.length <= MAX_LOG_LINE_CHARS);
    assert.equal(JSON.parse(lines[1]!).truncated, true);
    assert.doesNotMatch(lines[2]!, /sk-secret/);
  });
});
