/** What every resolver gets: the caller, and the store it reads and writes. */
import type pg from 'pg';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { DbKeys } from '../store/db-keys.js';
import type { Caller } from './auth.js';

export interface GraphqlDeps {
  prisma: PrismaClient;
  pool: pg.Pool;
  keys: DbKeys;
  adminConfigured: boolean;
}

declare module 'mercurius' {
  interface MercuriusContext {
    caller: Caller;
  }
}
