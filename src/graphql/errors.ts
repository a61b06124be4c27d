/**
 * GraphQL errors with a machine-readable `extensions.code`, and the formatter that gives
 * every refused request's errors one too, and makes sure nothing else (a database failure,
 * a bug) leaks its message or turns into a 500.
 */
import { GraphQLError } from 'graphql';
import { ApiError } from '../protocol/errors.js';
import mercurius, { type MercuriusContext } from 'mercurius';
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

export const gqlError = (code: ErrorCode, message: string, extra: Record<string, unknown> = {}) => new ErrorWithProps(message, { code, ...extra });
export const badInput = (message: string, field?: string) => gqlError('BAD_USER_INPUT', message, field ? { field } : {});
export const notFound = (what: string, id: string) => gqlError('NOT_FOUND', `No ${what} with id ${JSON.stringify(id)}.`);

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
function requestErrors(original: Error & { statusCode: number; errors?: unknown }, ctx: MercuriusContext): GraphQLError[] {
  const status = original.statusCode;
  // mercurius' GraphQL-level refusals carry their errors in `errors`: syntax, variables, GET mutation.
  const graphqlLevel = Array.isArray(original.errors);
  const inner: unknown[] = graphqlLevel ? (original.errors as unknown[]) : [original];
  return inner.map((x) => {
    const e = x instanceof GraphQLError ? x : new GraphQLError((x as Error).message ?? String(x));
    const tokens = TOKEN_LIMIT.exec(e.message);
    if (tokens) return withCode(e, 'QUERY_TOO_COMPLEX', `Query too large: it has more than ${tokens[1]} tokens (PARLEY_GRAPHQL_MAX_TOKENS), so it was not parsed further.`);
    if (e.message.startsWith('Syntax Error:')) return withCode(e, 'GRAPHQL_PARSE_FAILED');
    if (status === 413) {
      const limit = ctx.reply?.request.routeOptions.bodyLimit;
      return withCode(e, 'PAYLOAD_TOO_LARGE', `Request body too large: /graphql accepts at most ${limit} bytes (PARLEY_GRAPHQL_BODY_LIMIT_BYTES).`);
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
    return { errors: [new GraphQLError(original.message, { nodes: err.nodes, path: err.path, extensions: original.extensions as Record<string, unknown> })] };
  }
  // Parley's HTTP-level errors (503 while shutting down): their message is for the client.
  if (original instanceof ApiError) {
    return { errors: [new GraphQLError(original.message, { nodes: err.nodes, path: err.path, extensions: { code: original.status === 503 ? 'SERVICE_UNAVAILABLE' : 'INTERNAL_SERVER_ERROR' } })] };
  }
  // Refused requests (too large, bad JSON, syntax, limits, validation, GET mutation) carry a 4xx: their messages are meant for the client.
  const status = (original as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { errors: requestErrors(original as Error & { statusCode: number }, ctx), status };
  }
  const problem = databaseProblem(original);
  const log = ctx.reply.log;
  const replace = (code: ErrorCode, message: string) => ({ errors: [new GraphQLError(message, { nodes: err.nodes, path: err.path, extensions: { code } })] });
  if (problem === 'invalid') {
    log.warn({ err: original, path: err.path }, 'graphql: the database refused a value');
    return replace('BAD_USER_INPUT', 'An argument holds a value the database cannot store (for example a NUL character).');
  }
  if (problem === 'unavailable') {
    log.error({ err: original, path: err.path }, 'graphql: database unavailable');
    return replace('SERVICE_UNAVAILABLE', 'The database is unavailable; try again shortly.');
  }
  log.error({ err: original, path: err.path }, 'graphql: resolver failed');
  return replace('INTERNAL_SERVER_ERROR', 'Internal error.');
}

type Execution = Parameters<typeof mercurius.defaultErrorFormatter>[0];

/** mercurius errorFormatter: sanitized errors, each with a code; refused requests keep their 4xx; nothing becomes a 5xx. */
export function formatErrors(execution: Execution, ctx: MercuriusContext): ReturnType<typeof mercurius.defaultErrorFormatter> {
  const errors: GraphQLError[] = [];
  let status: number | undefined;
  for (const e of execution.errors) {
    if (!(e instanceof GraphQLError)) {
      errors.push(e);
      continue;
    }
    const s = sanitize(e, ctx);
    errors.push(...s.errors);
    status ??= s.status;
  }
  // With errors flattened here, mercurius' formatter only shapes the response; the status is ours.
  const shaped: Execution & { statusCode?: number } = { ...execution, errors, ...(status !== undefined ? { statusCode: status } : {}) };
  const result = mercurius.defaultErrorFormatter(shaped, ctx);
  return { ...result, statusCode: result.statusCode >= 500 ? 200 : result.statusCode };
}
