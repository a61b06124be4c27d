/**
 * GraphQL errors with a machine-readable `extensions.code`, and the formatter that gives
 * every refused request's errors one too, and makes sure nothing else (a database failure,
 * a bug) leaks its message or turns into a 500.
 */
import { GraphQLError } from 'graphql';
import mercurius, { type MercuriusContext } from 'mercurius';
import { ApiError } from '../protocol/errors.js';
import { databaseProblem } from './db-errors.js';

// mercurius is CommonJS: its classes are properties of the default export.
const { ErrorWithProps } = mercurius;

export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR'
  | 'QUERY_TOO_COMPLEX'
  | 'GRAPHQL_PARSE_FAILED'
  | 'GRAPHQL_VALIDATION_FAILED'
  | 'PAYLOAD_TOO_LARGE'
  | 'URI_TOO_LONG'
  | 'METHOD_NOT_ALLOWED'
  | 'BAD_REQUEST';

export const gqlError = (code: ErrorCode, message: string, extra: Record<string, unknown> = {}) =>
  new ErrorWithProps(message, { code, ...extra });
export const badInput = (message: string, field?: string) =>
  gqlError('BAD_USER_INPUT', message, field ? { field } : {});
export const notFound = (what: string, id: string) =>
  gqlError('NOT_FOUND', `No ${what} with id ${JSON.stringify(id)}.`);

/** A refused request: an HTTP status of 4xx and the GraphQL errors that say why (the shape of mercurius' own). */
export class RequestRefused extends Error {
  constructor(
    readonly statusCode: number,
    readonly errors: GraphQLError[],
  ) {
    super(errors[0]?.message ?? 'Request refused');
  }
}

/** The same error with `code` set, unless it already has one. */
export function withCode(e: GraphQLError, code: ErrorCode, message = e.message): GraphQLError {
  if (typeof e.extensions.code === 'string' && message === e.message) return e;
  return new GraphQLError(message, {
    nodes: e.nodes,
    source: e.source,
    positions: e.positions,
    path: e.path,
    originalError: e.originalError,
    extensions: { ...e.extensions, code: (e.extensions.code as string | undefined) ?? code },
  });
}

// graphql-js' wording when parse(…, { maxTokens }) gives up (mercurius matches it too).
const TOKEN_LIMIT = /^Syntax Error: Document contains more that (\d+) tokens/;

/** A code for each error of a refused request (4xx) that has none, from what it is. */
function requestErrors(
  original: Error & { statusCode: number; errors?: unknown },
  ctx: MercuriusContext,
): GraphQLError[] {
  const status = original.statusCode;
  // mercurius' GraphQL-level refusals carry their errors in `errors`: syntax, variables, GET mutation.
  const graphqlLevel = Array.isArray(original.errors);
  const inner: unknown[] = graphqlLevel ? (original.errors as unknown[]) : [original];
  return inner.map((x) => {
    const e = x instanceof GraphQLError ? x : new GraphQLError((x as Error).message ?? String(x));
    const tokens = TOKEN_LIMIT.exec(e.message);
    if (tokens)
      return withCode(
        e,
        'QUERY_TOO_COMPLEX',
        `Query too large: it has more than ${tokens[1]} tokens (PARLEY_GRAPHQL_MAX_TOKENS), so it was not parsed further.`,
      );
    if (e.message.startsWith('Syntax Error:')) return withCode(e, 'GRAPHQL_PARSE_FAILED');
    if (status === 413) {
      const limit = ctx.reply?.request.routeOptions.bodyLimit;
      return withCode(
        e,
        'PAYLOAD_TOO_LARGE',
        `Request body too large: /graphql accepts at most ${limit} bytes (PARLEY_GRAPHQL_BODY_LIMIT_BYTES).`,
      );
    }
    if (status === 405) return withCode(e, 'METHOD_NOT_ALLOWED');
    // Within a well-formed GraphQL request, what is left is the caller's values (variables).
    return withCode(e, graphqlLevel ? 'BAD_USER_INPUT' : 'BAD_REQUEST');
  });
}

interface Sanitized {
  errors: GraphQLError[];
  /** The HTTP status a refused request keeps. */
  status?: number;
}

/** Known errors pass through (with a code); others are logged and replaced by a generic one. */
function sanitize(err: GraphQLError, ctx: MercuriusContext): Sanitized {
  const original = err.originalError;
  if (!original || original instanceof GraphQLError) return { errors: [err] }; // raised by graphql-js itself, message meant for the client
  if (original instanceof ErrorWithProps) {
    return {
      errors: [
        new GraphQLError(original.message, {
          nodes: err.nodes,
          path: err.path,
          extensions: original.extensions as Record<string, unknown>,
        }),
      ],
    };
  }
  // Parley's HTTP-level errors (503 while shutting down): their message is for the client.
  if (original instanceof ApiError) {
    return {
      errors: [
        new GraphQLError(original.message, {
          nodes: err.nodes,
          path: err.path,
          extensions: { code: original.status === 503 ? 'SERVICE_UNAVAILABLE' : 'INTERNAL_SERVER_ERROR' },
        }),
      ],
    };
  }
  // Refused requests (too large, bad JSON, syntax, limits, validation, GET mutation) carry a 4xx: their messages are meant for the client.
  const status = (original as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { errors: requestErrors(original as Error & { statusCode: number }, ctx), status };
  }
  const problem = databaseProblem(original);
  const log = ctx.reply.log;
  const replace = (code: ErrorCode, message: string) => ({
    errors: [new GraphQLError(message, { nodes: err.nodes, path: err.path, extensions: { code } })],
  });
  // A value the database refuses is the client's (logged with the other client errors, logClientErrors).
  if (problem === 'invalid') {
    return replace(
      'BAD_USER_INPUT',
      'An argument holds a value the database cannot store (for example a NUL character).',
    );
  }
  if (problem === 'unavailable') {
    log.error({ err: original, path: err.path }, 'graphql: database unavailable');
    return replace('SERVICE_UNAVAILABLE', 'The database is unavailable; try again shortly.');
  }
  log.error({ err: original, path: err.path }, 'graphql: resolver failed');
  return replace('INTERNAL_SERVER_ERROR', 'Internal error.');
}

type Execution = Parameters<typeof mercurius.defaultErrorFormatter>[0];

/** Codes that mean Parley failed, not the client (logged where they are made, in sanitize). */
const SERVER_CODES = new Set<unknown>(['INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE']);

/**
 * A client's mistakes (validation, syntax, bad input, forbidden, not found) are not Parley's:
 * one info line per request with their codes, no stack, no message (it may quote the
 * client's values). Refusals for the key get none: the Authenticator counts and summarises
 * them (auth/failures.ts), as on the chat routes.
 */
function logClientErrors(errors: GraphQLError[], status: number | undefined, ctx: MercuriusContext): void {
  let codes: unknown[] | undefined;
  for (const e of errors) {
    const code = e.extensions.code;
    if (SERVER_CODES.has(code) || code === 'UNAUTHENTICATED') continue;
    codes ??= [];
    codes.push(code ?? null);
  }
  if (codes) ctx.reply.log.info({ status: status ?? 200, codes }, 'graphql: client error');
}

/**
 * mercurius errorFormatter: sanitized errors, each with a code; refused requests keep their 4xx;
 * nothing becomes a 5xx. The response is shaped here, as mercurius' defaultErrorFormatter shapes
 * it, because that formatter also logs every error at info with its stack: a client sending
 * invalid queries filled the log with stacks of errors that are not Parley's.
 */
export function formatErrors(
  execution: Execution,
  ctx: MercuriusContext,
): ReturnType<typeof mercurius.defaultErrorFormatter> {
  const errors: GraphQLError[] = [];
  let status: number | undefined;
  for (const e of execution.errors) {
    // (Typed as possibly plain errors: those are sanitized like a resolver's.)
    const s = sanitize(
      e instanceof GraphQLError ? e : new GraphQLError((e as Error).message, { originalError: e as Error }),
      ctx,
    );
    errors.push(...s.errors);
    status ??= s.status;
  }
  logClientErrors(errors, status, ctx);
  // Partial data is a 200; so is an execution error (GraphQL over HTTP); a refused request keeps its 4xx.
  return {
    statusCode: execution.data ? 200 : (status ?? 200),
    response: { data: execution.data ?? null, errors: errors.map((e) => e.toJSON()) },
  };
}
