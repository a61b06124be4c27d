/**
 * docs/data.md's "Operations to copy" (issue 10, 4.3) work as written: every block runs
 * without errors once its `<…>` placeholder is replaced by a real id, and every mutation of
 * the schema is among them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { buildSchema } from 'graphql';
import { schema } from '../src/graphql/schema.js';
import { gql, pgliteBackend, type StoreParley, startStoreParley } from './helpers/store.js';

const ADMIN = 'admin-key-for-docs-test';
const CLIENT = 'client-key-for-docs-test';
const ADMIN_FIELDS = /\b(apiKeys|createApiKey|revokeApiKey|updateApiKeyLimits|usage|usageSeries|requestLogs)\b/;

const doc = readFileSync(new URL('../docs/data.md', import.meta.url), 'utf8');
const section = doc.slice(
  doc.indexOf('### Operations to copy'),
  doc.indexOf('\n## ', doc.indexOf('### Operations to copy')),
);
const operations = [...section.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('docs/data.md operations', () => {
  const backend = pgliteBackend();
  let p: StoreParley;
  before(async () => {
    p = await startStoreParley({ ...(await backend.fresh()), PARLEY_ADMIN_KEY: ADMIN, PARLEY_API_KEYS: CLIENT });
  });
  after(async () => {
    await p?.close();
    await backend.cleanup();
  });

  it('document every mutation of the schema', () => {
    const mutations = Object.keys(buildSchema(schema).getMutationType()!.getFields());
    const documented = (name: string) =>
      operations.some((op) => new RegExp(`\\b${name}\\(`).test(op)) || new RegExp(`mutation \\{ ${name}\\(`).test(doc);
    assert.deepEqual(
      mutations.filter((m) => !documented(m)),
      [],
    );
  });

  it('run as written, each with the key it says it needs', async () => {
    assert.ok(operations.length >= 8, `${operations.length} operations found`);
    const todo = await gql(p.url, 'mutation { createTodo(title: "from the docs test") { id } }', undefined, CLIENT);
    const ids: Record<string, string> = {
      'todo id': todo.body.data!.createTodo.id,
      'call id': 'call-from-the-docs-test',
    };
    for (const op of operations) {
      const query = op.replace(/<([^>]+)>/g, (whole, name: string) => {
        assert.ok(ids[name], `a value for ${whole}`);
        return ids[name];
      });
      const r = await gql(p.url, query, undefined, ADMIN_FIELDS.test(op) ? ADMIN : CLIENT);
      assert.equal(r.status, 200, op);
      assert.equal(r.body.errors, undefined, `${op}\n${JSON.stringify(r.body.errors)}`);
      const created = r.body.data?.createApiKey as { key: { id: string } } | undefined;
      if (created) ids['key id'] = created.key.id;
    }
  });
});
