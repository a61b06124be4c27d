/**
 * GraphQL errors with a machine-readable `extensions.code`, and the formatter that makes
 * sure nothing else (a database failure, a bug) leaks its message or turns into a 500.
 */
import { GraphQLError } from 'graphql';
import { ApiError } from '../protocol/errors.js';
import mercurius, { type MercuriusContext } from 'mercurius';

// mercurius is CommonJS: its classes are properties of the default export.
const { ErrorWithProps } = mercurius;

export type ErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'BAD_USER_INPUT' | 'NOT_FOUND' | 'SERVICE_UNAVAILABLE' | 'INTERNAL_SERVER_ERROR';

export const gqlError = (code: ErrorCode, message: string, extra: Record<string, unknown> = {}) => new ErrorWithProps(message, { code, ...extra });
export const badInput = (message: string, field?: string) => gqlError('BAD_USER_INPUT', message, field ? { field } : {});
export const notFound = (what: string, id: string) => gqlError('NOT_FOUND', `No ${what} with id ${JSON.stringify(id)}.`);

const DB_DOWN = /ECONNREFUSED|ENOENT|ECONNRESET|Connection terminated|timeout exceeded when trying to connect|Can't reach database|57P01|08006/i;

/** Known errors pass through; others are logged and replaced by a generic one. */
function sanitize(err: GraphQLError, ctx: MercuriusContext): GraphQLError {
  const original = err.originalError;
  if (!original || original instanceof GraphQLError) return err; // syntax, validation, coercion: already GraphQL errors
  if (original instanceof ErrorWithProps) {
    return new GraphQLError(original.message, { nodes: err.nodes, path: err.path, extensions: original.extensions as Record<string, unknown> });
  }
  // Parley's HTTP-level errors (503 while shutting down): their message is for the client.
  if (original instanceof ApiError) {
    return new GraphQLError(original.message, { nodes: err.nodes, path: err.path, extensions: { code: original.status === 503 ? 'SERVICE_UNAVAILABLE' : 'INTERNAL_SERVER_ERROR' } });
  }
  // mercurius' own request errors (validation, depth, GET mutation, bad JSON) carry a 4xx: their messages are meant for the client.
  const status = (original as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status < 500) return err;
  const down = DB_DOWN.test(original.message) || (original as { code?: string }).code === 'ECONNREFUSED';
  ctx.reply.log.error({ err: original, path: err.path }, down ? 'graphql: database unavailable' : 'graphql: resolver failed');
  return new GraphQLError(down ? 'The database is unavailable; try again shortly.' : 'Internal error.', {
    nodes: err.nodes,
    path: err.path,
    extensions: { code: down ? 'SERVICE_UNAVAILABLE' : 'INTERNAL_SERVER_ERROR' },
  });
}

/** mercurius errorFormatter: sanitized errors; request errors keep their 4xx, nothing becomes a 5xx. */
export function formatErrors(
  execution: Parameters<typeof mercurius.defaultErrorFormatter>[0],
  ctx: MercuriusContext,
): ReturnType<typeof mercurius.defaultErrorFormatter> {
  const errors = execution.errors.map((e) => (e instanceof GraphQLError ? sanitize(e, ctx) : e));
  const result = mercurius.defaultErrorFormatter({ ...execution, errors }, ctx);
  return { ...result, statusCode: result.statusCode >= 500 ? 200 : result.statusCode };
}
