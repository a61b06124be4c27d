/**
 * What a failed database call means for a GraphQL client: the database is unavailable
 * (SERVICE_UNAVAILABLE: try again), a value could not be stored (BAD_USER_INPUT), or
 * neither (a bug: INTERNAL_SERVER_ERROR).
 *
 * Read from the error's codes, not its message: Prisma's P-codes, the kind
 * @prisma/adapter-pg maps a driver error to (meta.driverAdapterError.cause), PostgreSQL's
 * SQLSTATE (pg's DatabaseError.code, or the adapter's originalCode), and Node's socket
 * errno codes, which Prisma copies onto its own error. Only pg's connection failures that
 * carry no code at all are recognised by their (fixed) wording.
 */

export type DatabaseProblem = 'unavailable' | 'invalid';

/** Prisma: can't reach / timed out / access denied / closed connection / pool timeout / too many connections. */
const PRISMA_UNAVAILABLE = new Set([
  'P1000',
  'P1001',
  'P1002',
  'P1003',
  'P1008',
  'P1010',
  'P1011',
  'P1017',
  'P2024',
  'P2037',
]);
/** Prisma: value too long for its column, value out of range. */
const PRISMA_INVALID = new Set(['P2000', 'P2020']);

/** @prisma/adapter-pg's mapped error kinds. */
const KIND_UNAVAILABLE = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TlsConnectionError',
  'DatabaseDoesNotExist',
  'DatabaseAccessDenied',
  'AuthenticationFailed',
]);
const KIND_INVALID = new Set(['LengthMismatch', 'ValueOutOfRange', 'InvalidInputValue']);

/** Socket errors: refused, reset, no Unix socket (the embedded database stopped), timeouts, DNS. */
const SOCKET_UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ENOENT',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** pg's own connection failures, which have no code (pg/lib/client.js, pg-pool). */
const PG_CONNECTION_FAILURE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable/;

/**
 * SQLSTATE classes: 08 connection exception, 53 insufficient resources (53300 too many
 * connections), 57P operator intervention (57P01 admin shutdown, 57P03 "the database system
 * is shutting down / starting up"), 3D000 no such database, 28 authorization; 22 data
 * exception (22021 a NUL byte, 22P05 untranslatable character, 22001 too long, 22P02 bad
 * text representation).
 */
function fromSqlState(code: string): DatabaseProblem | undefined {
  if (/^(08|53|57P|3D|28)/.test(code)) return 'unavailable';
  if (code.startsWith('22')) return 'invalid';
  return undefined;
}

type Fields = {
  code?: unknown;
  kind?: unknown;
  originalCode?: unknown;
  severity?: unknown;
  clientVersion?: unknown;
  message?: unknown;
};

function classifyOne(e: Fields): DatabaseProblem | undefined {
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && SOCKET_UNAVAILABLE.has(code)) return 'unavailable';
  if (typeof e.kind === 'string') {
    if (KIND_UNAVAILABLE.has(e.kind)) return 'unavailable';
    if (KIND_INVALID.has(e.kind)) return 'invalid';
  }
  if (typeof e.originalCode === 'string') return fromSqlState(e.originalCode);
  if (code && typeof e.clientVersion === 'string') {
    if (PRISMA_UNAVAILABLE.has(code)) return 'unavailable';
    if (PRISMA_INVALID.has(code)) return 'invalid';
  }
  // pg's DatabaseError (raw queries) carries PostgreSQL's severity and SQLSTATE.
  if (code && typeof e.severity === 'string') return fromSqlState(code);
  if (!code && typeof e.message === 'string' && PG_CONNECTION_FAILURE.test(e.message)) return 'unavailable';
  return undefined;
}

/** The problem an error from Prisma or pg reports, looking through the errors it wraps. */
export function databaseProblem(err: unknown): DatabaseProblem | undefined {
  const queue: unknown[] = [err];
  const seen = new Set<unknown>();
  while (queue.length > 0 && seen.size < 8) {
    const e = queue.shift();
    if (typeof e !== 'object' || e === null || seen.has(e)) continue;
    seen.add(e);
    const found = classifyOne(e as Fields);
    if (found) return found;
    const { cause, meta } = e as { cause?: unknown; meta?: { driverAdapterError?: unknown } };
    queue.push(cause, meta?.driverAdapterError);
  }
  return undefined;
}
