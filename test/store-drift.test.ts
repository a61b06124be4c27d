/**
 * Drift: the database the migrations build must be exactly what schema.prisma declares
 * (tables, columns, types, nullability, defaults, indexes), on both databases. Prisma's
 * own parser (getDMMF) reads the schema, so the comparison can't share a bug with a
 * hand-written reading of it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getDMMF } from '@prisma/get-dmmf';
import type pg from 'pg';
import pino from 'pino';
import { type Database, openDatabase } from '../src/store/database.js';
import { migrate } from '../src/store/migrate.js';
import { REQUEST_LOG_COLUMNS } from '../src/store/usage-sink.js';
import { needs } from './helpers/prerequisites.js';
import { backends } from './helpers/store.js';

const schemaText = readFileSync(fileURLToPath(new URL('../prisma/schema.prisma', import.meta.url)), 'utf8');
const dmmfResult = getDMMF({ datamodel: schemaText });
if ('reason' in dmmfResult) throw new Error(`schema.prisma does not parse: ${dmmfResult.reason}`);
const dmmf = dmmfResult.datamodel;

interface Column {
  type: string;
  nullable: boolean;
  default: string | null;
}

interface Index {
  unique: boolean;
  columns: string[];
}

const scalarType: Record<string, string> = {
  String: 'text',
  Boolean: 'boolean',
  Int: 'integer',
  BigInt: 'bigint',
  Float: 'double precision',
  Decimal: 'numeric(65,30)',
  DateTime: 'timestamp(3) without time zone',
  Json: 'jsonb',
  Bytes: 'bytea',
};

/** The PostgreSQL column type Prisma creates for a field. */
function expectedType(f: (typeof dmmf.models)[number]['fields'][number]): string {
  let t = scalarType[f.type];
  const native = f.nativeType as [string, string[]] | null | undefined;
  if (native) {
    const [name, args] = native;
    const map: Record<string, string> = {
      Uuid: 'uuid',
      Text: 'text',
      Timestamptz: `timestamp(${args[0] ?? 3}) with time zone`,
      Timestamp: `timestamp(${args[0] ?? 3}) without time zone`,
      VarChar: `character varying(${args[0]})`,
      Integer: 'integer',
      BigInt: 'bigint',
      DoublePrecision: 'double precision',
    };
    t = map[name];
    assert.ok(t, `the drift test doesn't know native type @db.${name} yet: add it`);
  }
  assert.ok(t, `unknown Prisma type ${f.type}`);
  return f.isList ? `${t}[]` : t;
}

/** The column default Prisma creates for a field, as PostgreSQL reports it. */
function expectedDefault(f: (typeof dmmf.models)[number]['fields'][number], type: string): string | null {
  const d = f.default as unknown;
  if (d === undefined) return null;
  if (Array.isArray(d)) {
    assert.equal(d.length, 0, 'only empty list defaults are handled');
    return `ARRAY[]::${type}`;
  }
  if (typeof d === 'boolean' || typeof d === 'number') return String(d);
  if (typeof d === 'string') return `'${d}'::text`;
  const fn = d as { name: string; args: unknown[] };
  if (fn.name === 'now') return 'CURRENT_TIMESTAMP';
  if (fn.name === 'dbgenerated') return String(fn.args[0]);
  throw new Error(`the drift test doesn't know default ${fn.name}() yet: add it`);
}

function expectedSchema() {
  const tables = new Map<string, Map<string, Column>>();
  for (const m of dmmf.models) {
    const cols = new Map<string, Column>();
    for (const f of m.fields) {
      assert.equal(f.kind, 'scalar', `${m.name}.${f.name}: relations aren't handled by this test yet`);
      const type = expectedType(f);
      // Prisma creates scalar lists without NOT NULL.
      cols.set(f.dbName ?? f.name, { type, nullable: f.isList || !f.isRequired, default: expectedDefault(f, type) });
    }
    tables.set(m.dbName ?? m.name, cols);
  }
  const indexes = new Map<string, Index>();
  for (const ix of dmmf.indexes) {
    const model = dmmf.models.find((m) => m.name === ix.model)!;
    const table = model.dbName ?? model.name;
    const cols = ix.fields.map((f) => model.fields.find((x) => x.name === f.name)!.dbName ?? f.name);
    const suffix = ix.type === 'id' ? 'pkey' : ix.type === 'unique' ? 'key' : 'idx';
    const name = ix.dbName ?? (ix.type === 'id' ? `${table}_pkey` : `${table}_${cols.join('_')}_${suffix}`);
    indexes.set(`${table}.${name}`, { unique: ix.type !== 'normal', columns: cols });
  }
  return { tables, indexes };
}

async function actualSchema(pool: pg.Pool) {
  const cols = await pool.query<{
    table: string;
    column: string;
    type: string;
    nullable: boolean;
    default: string | null;
  }>(`
    SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
           NOT a.attnotnull AS nullable, pg_get_expr(d.adbin, d.adrelid) AS default
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
      JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relname <> '_prisma_migrations'`);
  const tables = new Map<string, Map<string, Column>>();
  for (const r of cols.rows) {
    if (!tables.has(r.table)) tables.set(r.table, new Map());
    tables.get(r.table)!.set(r.column, { type: r.type, nullable: r.nullable, default: r.default });
  }
  const ixs = await pool.query<{ table: string; name: string; unique: boolean; columns: string[] }>(`
    SELECT t.relname AS table, i.relname AS name, ix.indisunique AS unique,
           array(SELECT a.attname::text FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord) AS columns
      FROM pg_index ix
      JOIN pg_class t ON t.oid = ix.indrelid
      JOIN pg_class i ON i.oid = ix.indexrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema()
     WHERE t.relname <> '_prisma_migrations'`);
  const indexes = new Map<string, Index>(
    ixs.rows.map((r) => [`${r.table}.${r.name}`, { unique: r.unique, columns: r.columns }]),
  );
  return { tables, indexes };
}

const sorted = <V>(m: Map<string, V>) => Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)));

for (const backend of backends()) {
  describe(`migrations match schema.prisma on ${backend.name}`, {
    skip: needs(`the ${backend.name} backend`, backend.unavailable),
  }, () => {
    let db: Database;
    before(async () => {
      const env = await backend.fresh();
      db = await openDatabase({
        databaseUrl: env.DATABASE_URL,
        dataDir: env.PARLEY_DATA_DIR ?? '',
        log: pino({ level: 'silent' }),
      });
      await migrate(db.pool, pino({ level: 'silent' }));
    });
    after(async () => {
      await db?.close();
      await backend.cleanup();
    });

    it('has the same tables and columns, with the same types, nullability and defaults', async () => {
      const want = expectedSchema();
      const got = await actualSchema(db.pool);
      assert.deepEqual([...got.tables.keys()].sort(), [...want.tables.keys()].sort());
      for (const [table, cols] of want.tables)
        assert.deepEqual(sorted(got.tables.get(table)!), sorted(cols), `table ${table}`);
    });

    it('has exactly the indexes the schema declares', async () => {
      const want = expectedSchema();
      const got = await actualSchema(db.pool);
      assert.deepEqual(sorted(got.indexes), sorted(want.indexes));
    });

    it('has every column the usage writer inserts, with the types it casts to', async () => {
      const got = await actualSchema(db.pool);
      const cols = got.tables.get('RequestLog')!;
      for (const [c, type] of Object.entries(REQUEST_LOG_COLUMNS))
        assert.equal(cols.get(c)?.type, type, `RequestLog.${c}`);
    });
  });
}
