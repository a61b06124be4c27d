#!/usr/bin/env node
/**
 * `prisma generate` that works offline (run by `npm install` / `npm ci` as postinstall).
 *
 * Prisma's CLI wants a schema-engine binary and downloads one from Prisma's host when none
 * is given; `generate` never runs it, so pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing
 * file lets generation work on machines that can't reach that host. A value already set in
 * the environment is kept.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const env = { ...process.env, CHECKPOINT_DISABLE: process.env.CHECKPOINT_DISABLE ?? '1' };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;

const cli = require.resolve('prisma/build/index.js');
const result = spawnSync(process.execPath, [cli, 'generate', ...process.argv.slice(2)], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
