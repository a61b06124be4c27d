/**
 * The README's configuration table is the settings' documentation: every row's variable must be
 * the one Parley reads, and its documented default the one it applies. Compared through
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

function configurationTable(): Row[] {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Configuration'));
  const table = section.slice(0, section.indexOf('\n#', 1));
  const rows: Row[] = [];
  for (const line of table.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const name = /^`([A-Z][A-Z0-9_]*)`$/.exec(cells[1] ?? '')?.[1];
    if (!name) continue;
    const dflt = cells[2] ?? '';
    // "`33554432` (32 MiB)" → 33554432; "—" or "— (CORS off)" → unset.
    rows.push({ name, dflt: dflt.startsWith('—') ? null : (/^`([^`]*)`/.exec(dflt)?.[1] ?? assert.fail(`README default for ${name} is neither \`value\` nor —: ${dflt}`)) });
  }
  return rows;
}

/** A valid value other than `v`, to see that the variable is read at all. */
function another(name: string, v: string | null): string {
  const special: Record<string, string> = { LOG_LEVEL: 'debug', PARLEY_UPSTREAM_FIELDS: 'allowlist', HOST: '127.0.0.2', PARLEY_CORS_ORIGINS: 'https://app.example.com', DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/other' };
  if (special[name]) return special[name];
  if (v === null) return 'set-by-the-test';
  return /^\d+$/.test(v) ? String(Number(v) + 1000) : `${v}-other`;
}

describe('README configuration table', () => {
  const rows = configurationTable();
  const defaults = readSettings({});

  it('is found and lists every setting once', () => {
    assert.ok(rows.length >= 20, `parsed ${rows.length} rows from README.md's configuration table`);
    assert.equal(new Set(rows.map((r) => r.name)).size, rows.length, 'no variable listed twice');
  });

  for (const { name, dflt } of rows) {
    it(`${name}: the documented default (${dflt ?? 'unset'}) is the applied one, and the variable is read`, () => {
      if (dflt !== null) assert.deepEqual(readSettings({ [name]: dflt }), defaults, `${name}=${dflt} (README's default) differs from leaving it unset`);
      assert.notDeepEqual(readSettings({ [name]: another(name, dflt) }), defaults, `setting ${name} changes nothing: Parley does not read it`);
    });
  }
});
