/**
 * One error catalogue: every error Parley raises is made by a named constructor in
 * src/protocol/errors.ts (client-facing) or src/providers/errors.ts (upstream failures), so
 * each protocol's writer has one list to map and a message is written once.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { ApiError, errors } from '../src/protocol/errors.js';
import { UpstreamError, upstreamErrors } from '../src/providers/errors.js';

const SRC = join(import.meta.dirname, '../src');
const CATALOGUES = new Set(['protocol/errors.ts', 'providers/errors.ts']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'generated' ? [] : sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

describe('the error catalogue', () => {
  it('is the only place that constructs ApiError or UpstreamError', () => {
    const outside: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const rel = relative(SRC, file);
      if (CATALOGUES.has(rel)) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/new (ApiError|UpstreamError)\(/.test(line)) outside.push(`src/${rel}:${i + 1}: ${line.trim()}`);
        });
    }
    assert.deepEqual(outside, [], 'use a named constructor from the catalogue instead');
  });

  it('upstream errors carry a 5xx status, an OpenAI error type and a code; the retryable ones move to the next target', () => {
    const made = [
      upstreamErrors.notEventStream('p', 'text/plain'),
      upstreamErrors.notJson('p'),
      upstreamErrors.notCompletion('p'),
      upstreamErrors.emptyStream('p'),
      upstreamErrors.eventNotJson('p'),
      upstreamErrors.tooLarge('p', 1024),
      upstreamErrors.firstByteTimeout('p'),
      upstreamErrors.idleTimeout('p'),
      upstreamErrors.firstTokenTimeout('p', 800),
      upstreamErrors.unreachable('p', 'ECONNREFUSED'),
      upstreamErrors.credentialsRefused('p', 401, 'invalid_api_key'),
    ];
    for (const e of made) {
      assert.ok(e instanceof UpstreamError && e instanceof ApiError);
      assert.ok(e.status === 502 || e.status === 504, `${e.code}: ${e.status}`);
      assert.ok(e.retryable, `${e.code} is retryable`);
      assert.match(e.message, /Upstream p /);
      const body = JSON.parse(e.toJson());
      assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
    }
    assert.match(upstreamErrors.credentialsRefused('p', 403, null).message, /HTTP 403\)/);
    assert.match(upstreamErrors.unreachable('p', 'ECONNREFUSED').message, /\(ECONNREFUSED\)/);
    // Passed through: the upstream's own body verbatim, its status and retry headers kept.
    const passed = upstreamErrors.envelope(
      429,
      'slow down',
      'rate_limit_error',
      'rate_limit_exceeded',
      '{"error":{"message":"slow down"}}',
      { 'retry-after': '2' },
    );
    assert.equal(passed.toJson(), '{"error":{"message":"slow down"}}');
    assert.deepEqual(passed.headers, { 'retry-after': '2' });
    assert.equal(upstreamErrors.httpStatus('p', 400, '').retryable, false);
    assert.equal(upstreamErrors.httpStatus('p', 400, '').message, 'Upstream p answered HTTP 400');
  });

  it('model_not_found names the models that exist when they are known', () => {
    assert.match(
      errors.modelNotFound('nope', 'default, fast').message,
      /does not exist.*The models this server routes are: default, fast\.$/,
    );
    assert.doesNotMatch(errors.modelNotFound('nope').message, /routes are/);
  });
});
