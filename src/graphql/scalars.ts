/** DateTime: ISO-8601 with a timezone in and out, a Date inside. */
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

// A date, a time, and Z or an offset: a bare local time would mean different instants on different servers.
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

function parse(value: unknown): Date {
  if (typeof value !== 'string' || !ISO_DATE_TIME.test(value) || Number.isNaN(Date.parse(value))) {
    throw new GraphQLError(
      `DateTime must be an ISO-8601 date-time with a timezone, e.g. 2026-01-31T12:00:00Z; got ${JSON.stringify(value)}`,
      {
        extensions: { code: 'BAD_USER_INPUT' },
      },
    );
  }
  return new Date(value);
}

export const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An ISO-8601 date-time with a timezone, e.g. 2026-01-31T12:00:00.000Z.',
  serialize(value) {
    const d = value instanceof Date ? value : new Date(value as string);
    if (Number.isNaN(d.getTime())) throw new GraphQLError('DateTime cannot represent an invalid date');
    return d.toISOString();
  },
  parseValue: parse,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING)
      throw new GraphQLError('DateTime must be a string', { nodes: ast, extensions: { code: 'BAD_USER_INPUT' } });
    return parse(ast.value);
  },
});
