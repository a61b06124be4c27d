// CI's scratch PostgreSQL database, made with `pg` (a dependency) so CI needs no psql client.
//   node scripts/ci-create-db.mjs create <name>   creates it, prints its URL
//   node scripts/ci-create-db.mjs drop <name>     drops it (WITH (FORCE): connections left open by a failed run too)
// The server is PGHOST/PGPORT/PGUSER/PGPASSWORD (default 127.0.0.1:5432, postgres), as libpq reads them.
import pg from 'pg';

const [action, name] = process.argv.slice(2);
if (!['create', 'drop'].includes(action) || !/^[a-z_][a-z0-9_]{0,62}$/.test(name ?? '')) {
  console.error('usage: node scripts/ci-create-db.mjs create|drop <name: lower-case letters, digits, _>');
  process.exit(2);
}
const host = process.env.PGHOST || '127.0.0.1';
const port = process.env.PGPORT || '5432';
const user = process.env.PGUSER || 'postgres';
const client = new pg.Client({ host, port: Number(port), user, database: 'postgres', connectionTimeoutMillis: 10_000 });
try {
  await client.connect();
  await client.query(
    action === 'create' ? `CREATE DATABASE "${name}"` : `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`,
  );
} catch (err) {
  console.error(`PostgreSQL at ${user}@${host}:${port}: cannot ${action} database ${name}: ${err.message}`);
  process.exit(1);
} finally {
  await client.end().catch(() => {});
}
const password = process.env.PGPASSWORD ? `:${encodeURIComponent(process.env.PGPASSWORD)}` : '';
if (action === 'create') console.log(`postgresql://${encodeURIComponent(user)}${password}@${host}:${port}/${name}`);
