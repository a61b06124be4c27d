/**
 * Every check a new query text must pass, run as mercurius' preValidation hook: after it is
 * parsed (with PARLEY_GRAPHQL_MAX_TOKENS, so parsing itself is bounded), before mercurius
 * validates and caches it.
 *
 * Why here: mercurius keeps each query that fails its validation in a second LRU, parse
 * tree included, so that repeating it is cheap. An unauthenticated client sending distinct
 * invalid queries filled that with parse trees (issue 9: ~290 MB for a 5 MB query). A query
 * refused by this hook never reaches mercurius' validation, so only valid queries are cached.
 * A valid query is validated twice the first time it is seen (here, then by mercurius);
 * after that, mercurius' cache answers and neither runs.
 *
 * The size limits run first: graphql-js' OverlappingFieldsCanBeMerged rule is quadratic in
 * the fields of a selection set, so it must never see an oversized one.
 */
import { type DocumentNode, GraphQLError, type GraphQLSchema, Location, specifiedRules, validate } from 'graphql';
import { RequestRefused, withCode } from './errors.js';
import { limitErrors, type QueryLimits } from './limits.js';

export function checkQuery(schema: GraphQLSchema, document: DocumentNode, limits: QueryLimits): void {
  // mercurius falls back to JSON.parse for text that is not GraphQL, taking it as a parse
  // tree; that would skip the token limit. Only the parser makes Location objects.
  if (!(document.loc instanceof Location)) {
    throw new RequestRefused(400, [
      new GraphQLError('Syntax Error: the query must be GraphQL text.', {
        extensions: { code: 'GRAPHQL_PARSE_FAILED' },
      }),
    ]);
  }
  const tooBig = limitErrors(document, limits);
  if (tooBig.length > 0) throw new RequestRefused(400, tooBig);
  const invalid = validate(schema, document, specifiedRules);
  if (invalid.length > 0)
    throw new RequestRefused(
      400,
      invalid.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED')),
    );
}
