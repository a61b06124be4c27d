/**
 * Logs a person can read (issue 10 §4.7): pino-pretty's lines on a terminal, JSON elsewhere,
 * LOG_FORMAT forcing either; redaction and caps hold in both.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readSettings, SettingsError } from '../src/config/env.js';
import { logDestination, resolveLogFormat } from '../src/logging/format.js';
import { MAX_LOG_LINE_CHARS, MAX_LOGGED_CHARS } from '../src/logging/limits.js';
import { parleyLogger } from '../src/logging/logger.js';
import { captureWrites } from './helpers/log-capture.js';

const run = promisify(execFile);
/** Without colours (on a terminal, or with FORCE_COLOR set, pino-pretty adds them). */
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const plain = (text: string) => text.replace(ANSI_COLOUR, '');
const root = fileURLToPath(new URL('..', import.meta.url));

const capture = captureWrites;

const isJson = (line: string) => {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
};

/** Logs what main.ts logs through, as the settings from `env` choose, and returns the lines. */
function logWith(env: Record<string, string>): string[] {
  const settings = readSettings(env);
  const { stream, lines } = capture();
  const log = parleyLogger('info', logDestination(settings.logFormat, stream));
  log.info(
    { reqId: 'req_abc', headers: { authorization: 'Bearer sk-secret-1' }, provider: { apiKey: 'sk-secret-2' } },
    'chat completion',
  );
  log.warn({ err: new Error('x'.repeat(100_000)) }, 'database refused');
  log.info({ blob: 'y'.repeat(100_000) }, 'something uncapped');
  return lines;
}

describe('LOG_FORMAT', () => {
  it('defaults to auto and accepts json and pretty; anything else stops startup naming the setting', () => {
    assert.equal(readSettings({}).logFormat, 'auto');
    assert.equal(readSettings({ LOG_FORMAT: 'json' }).logFormat, 'json');
    assert.equal(readSettings({ LOG_FORMAT: 'pretty' }).logFormat, 'pretty');
    assert.throws(
      () => readSettings({ LOG_FORMAT: 'text' }),
      (e: unknown) => e instanceof SettingsError && /^LOG_FORMAT must be one of auto, json, pretty/.test(e.message),
    );
  });

  it('auto is pretty on a terminal and JSON otherwise; a forced format ignores the terminal', () => {
    assert.equal(resolveLogFormat('auto', true), 'pretty');
    assert.equal(resolveLogFormat('auto', false), 'json');
    assert.equal(resolveLogFormat('json', true), 'json');
    assert.equal(resolveLogFormat('pretty', false), 'pretty');
  });

  it('pretty: readable lines with level, message and fields; keys redacted; errors and lines capped', () => {
    const lines = logWith({ LOG_FORMAT: 'pretty' });
    assert.equal(lines.length, 3);
    const [chat, err, uncapped] = lines as [string, string, string];
    assert.ok(!isJson(chat), `not a JSON line: ${chat}`);
    assert.match(chat, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: chat completion /);
    assert.match(chat, /"reqId":"req_abc"/);
    assert.doesNotMatch(lines.join(''), /sk-secret/);
    assert.match(chat, /\[redacted\]/);
    assert.match(err, /WARN: database refused/);
    assert.ok(!err.includes('x'.repeat(MAX_LOGGED_CHARS + 1)), 'error message and stack capped');
    assert.match(err, /… \[100000 characters\]/);
    assert.match(uncapped, /log line cut: it was \d+ characters/);
    assert.ok(uncapped.length < MAX_LOG_LINE_CHARS);
  });

  it('json: one JSON object per line, redacted and capped the same way', () => {
    const lines = logWith({ LOG_FORMAT: 'json' });
    assert.equal(lines.length, 3);
    assert.ok(lines.every(isJson));
    assert.equal(JSON.parse(lines[0]!).msg, 'chat completion');
    assert.doesNotMatch(lines.join(''), /sk-secret/);
    assert.equal(JSON.parse(lines[2]!).truncated, true);
  });
});

describe('log format on the real stdout', () => {
  // What main.ts does, then an immediate exit: the line must already be out.
  const script = `
    import { parleyLogger } from './src/logging/logger.ts';
    import { logDestination } from './src/logging/format.ts';
    import { readSettings } from './src/config/env.ts';
    const s = readSettings();
    parleyLogger(s.logLevel, logDestination(s.logFormat)).info({ headers: { authorization: 'Bearer sk-secret' } }, 'hello');
    process.exit(0);`;
  const child = (env: Record<string, string>) =>
    run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      env: { ...process.env, ...env },
      timeout: 30_000,
    });

  it('a pipe gets JSON by default', async () => {
    const { stdout } = await child({ LOG_FORMAT: '' });
    const line = JSON.parse(stdout.trim());
    assert.equal(line.msg, 'hello');
    assert.doesNotMatch(stdout, /sk-secret/);
  });

  it('LOG_FORMAT=pretty gets readable lines even through a pipe, written before exit', async () => {
    const { stdout } = await child({ LOG_FORMAT: 'pretty' });
    assert.match(
      plain(stdout),
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: hello \{"headers":\{"authorization":"\[redacted\]"\}\}\n$/,
    );
  });

  const noScript = existsSync('/usr/bin/script')
    ? false
    : 'util-linux `script` (to give the child a terminal) is not installed';
  it('a terminal gets readable lines by default', { skip: noScript }, async () => {
    // `script` runs the child on a pseudo-terminal: stdout.isTTY is true there.
    const cmd = `${process.execPath} --import tsx --input-type=module -e "$PARLEY_LOG_SCRIPT"`;
    const { stdout } = await run('/usr/bin/script', ['-qec', cmd, '/dev/null'], {
      cwd: root,
      env: { ...process.env, LOG_FORMAT: '', PARLEY_LOG_SCRIPT: script },
      timeout: 30_000,
    });
    const text = plain(stdout);
    assert.match(text, /\[\d\d:\d\d:\d\d\.\d{3}\] INFO: hello /);
    assert.ok(!isJson(text.trim()), text);
    assert.doesNotMatch(text, /sk-secret/);
  });
});
