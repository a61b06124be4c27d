/** Checks shared by the resolvers: ids, page sizes, text the database can store. */

import { Prisma } from '../../generated/prisma/client.js';
import { badInput, notFound } from '../errors.js';
import { MAX_PAGE } from '../schema.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else can't name a row (and must not reach the database as a uuid). */
export const isUuid = (id: string): boolean => UUID.test(id);

/**
 * PostgreSQL text cannot hold U+0000 (it fails with SQLSTATE 22021), though GraphQL strings
 * may: refuse it here, naming the argument, instead of letting the database fail.
 */
export function storable(value: string, field: string): string {
  if (value.includes('\u0000')) throw badInput(`${field} must not contain the NUL character (\\u0000)`, field);
  return value;
}

export function pageSize(first: number | null | undefined, dflt: number): number {
  const n = first ?? dflt;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE)
    throw badInput(`first must be between 1 and ${MAX_PAGE}; got ${n}`, 'first');
  return n;
}

/** Prisma's "record to update/delete does not exist" (P2025) as a NOT_FOUND error. */
export async function orNotFound<T>(op: Promise<T>, what: string, id: string): Promise<T> {
  try {
    return await op;
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2025') throw notFound(what, id);
    throw err;
  }
}
