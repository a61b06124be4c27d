/**
 * The settings tables (README's configuration table, docs/data.md's settings) are the settings'
 * documentation: every row's variable must be the one Parley reads, and its documented default
 * the one it applies. Compared through
 * readSettings itself (setting a variable to its documented default changes nothing; setting it to
 * something else changes something), so no field name or default is copied from the source.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { readSettings } from '../src/config/env.js';

interface Row {
  name: string;
  /** The documented default, or null for "—" (unset). */
  dflt: string | null;
}

/** The rows of the first table under `heading` in a Markdown file: `NAME` | default | meaning. */
function settingsTable(file: string, heading: string): Row[] {
  const text = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
  const at = text.indexOf(`\n${heading}\n`);
  assert.ok(at >= 0, `${file} has a "${heading}" section`);
  const section = text.slice(at + 1);
  const table = section.slice(0, section.indexOf('\n#', 1));
  const rows: Row[] = [];
  for (const line of table.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const name = /^`([A-Z][A-Z0-9_]*)`$/.exec(cells[1] ?? '')?.[1];
    if (!name) continue;
    const dflt = cells[2] ?? '';
    // "`33554432` (32 MiB)" → 33554432; "—", "— (CORS off)" or "unset" → unset.
    rows.push({
      name,
      dflt: /^(—|unset)/.test(dflt)
        ? null
        : (/^`([^`]*)`/.exec(dflt)?.[1] ??
          assert.fail(`${file}: the default for ${name} is neither \`value\`, — nor unset: ${dflt}`)),
    });
  }
  return rows;
}

/** A valid value other than `v`, to see that the variable is read at all. */
function another(name: string, v: string | null): string {
  const special: Record<string, string> = {
    LOG_LEVEL: 'debug',
    LOG_FORMAT: 'pretty',
    PARLEY_UPSTREAM_FIELDS: 'allowlist',
    HOST: '127.0.0.2',
    PARLEY_CORS_ORIGINS: 'https://app.example.com',
    DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/other',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
    REDIS_URL: 'redis://127.0.0.1:6380',
    PARLEY_LIMITS_ON_REDIS_ERROR: 'closed',
  };
  if (special[name]) return special[name];
  if (v === null) return 'set-by-the-test';
  return /^\d+$/.test(v) ? String(Number(v) + 1000) : `${v}-other`;
}

const defaults = readSettings({});

for (const [file, heading, atLeast] of [
  ['README.md', '## Configuration', 20],
  ['docs/data.md', '## Settings', 8],
] as const) {
  describe(`${file}'s settings table`, () => {
    const rows = settingsTable(file, heading);

    it('is found and lists every setting once', () => {
      assert.ok(rows.length >= atLeast, `parsed ${rows.length} rows from ${file}'s table`);
      assert.equal(new Set(rows.map((r) => r.name)).size, rows.length, 'no variable listed twice');
    });

    for (const { name, dflt } of rows) {
      it(`${name}: the documented default (${dflt ?? 'unset'}) is the applied one, and the variable is read`, () => {
        if (dflt !== null)
          assert.deepEqual(
            readSettings({ [name]: dflt }),
            defaults,
            `${name}=${dflt} (${file}'s default) differs from leaving it unset`,
          );
        assert.notDeepEqual(
          readSettings({ [name]: another(name, dflt) }),
          defaults,
          `setting ${name} changes nothing: Parley does not read it`,
        );
      });
    }
  });
}
