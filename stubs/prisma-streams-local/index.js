/**
 * Parley's stand-in for @prisma/streams-local. The Prisma CLI depends on it (through @prisma/dev) only for
 * `prisma dev`, a local Prisma Postgres server that Parley never runs, and every version of the real package
 * declares Node.js 22, so `npm install` warned on the Node 20 the README names. package.json installs this
 * folder under that name and `overrides` points @prisma/dev at it. Nothing imports it unless `prisma dev` runs.
 */
throw new Error('@prisma/streams-local is a stub in Parley (package.json overrides): `prisma dev` is not available.');
