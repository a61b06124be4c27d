// Prisma CLI configuration (Prisma 7 keeps the connection URL here, not in schema.prisma).
// Parley doesn't need the CLI at runtime: it generates the client on install
// (scripts/prisma-generate.mjs) and applies prisma/migrations itself at startup.
// DATABASE_URL is only read by CLI commands that talk to a database (migrate dev/deploy).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL },
});
