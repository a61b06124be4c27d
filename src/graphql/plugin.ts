/**
 * GraphQL at /graphql (GraphQL-over-HTTP: POST JSON, GET with query parameters for
 * queries), GraphiQL at /graphiql (./graphiql.ts) and on a browser's GET /graphql.
 *
 * mercurius because it is Fastify's own GraphQL server: the same server, hooks, logger
 * and inject() as the chat routes, query parsing/validation cached per query text, and
 * optional JIT compilation of hot queries (graphql-jit). Resolvers call the generated
 * Prisma client, so their reads and writes are type-checked against schema.prisma.
 *
 * What one request can cost is bounded for every client, with a key or without: its size
 * (body, or a GET's URL), its tokens (parsing stops at the first one over), its fields and
 * depth (before validation), and the number of parsed queries kept (only valid ones).
 */
import type { FastifyInstance } from 'fastify';
import { GraphQLError } from 'graphql';
import mercurius, { type IResolvers } from 'mercurius';
import { type Authenticator, hashKey } from '../auth/keys.js';
import { identify } from './auth.js';
import type { GraphqlDeps } from './context.js';
import { formatErrors, RequestRefused } from './errors.js';
import { graphiqlRoutes } from './graphiql.js';
import { checkQuery } from './query-checks.js';
import { keyResolvers } from './resolvers/keys.js';
import { todoResolvers } from './resolvers/todos.js';
import { usageResolvers } from './resolvers/usage.js';
import { usageSeriesResolvers } from './resolvers/usage-series.js';
import { adjustGraphqlRoute } from './route-schema.js';
import { DateTime } from './scalars.js';
import { schema } from './schema.js';

/**
 * Deepest nesting a query may have, introspection's ofType links not counted (see ./limits.ts).
 * The schema itself needs 4 (requestLogs → nodes → vapi → callId), GraphiQL's introspection 6.
 */
const MAX_DEPTH = 6;
/** Most fields one operation may select, aliases and fragments expanded. */
export const MAX_FIELDS = 300;
/**
 * Parsed valid queries kept by mercurius (an LRU keyed by query text; quick-lru holds up to
 * twice this many). Each is at most PARLEY_GRAPHQL_MAX_TOKENS tokens (~0.2 KB of parse tree
 * per token) and PARLEY_GRAPHQL_BODY_LIMIT_BYTES of text: filled by one client with the
 * largest valid queries the defaults allow, JIT-compiled, the heap grew by ~50 MB (mercurius'
 * default of 1024 would allow 8 times that). Real clients send a few distinct queries.
 */
export const QUERY_CACHE_SIZE = 64;

export interface GraphqlOptions extends Omit<GraphqlDeps, 'adminConfigured'> {
  auth: Authenticator;
  adminKey?: string;
  /** Largest POST body or GET URL on /graphql (PARLEY_GRAPHQL_BODY_LIMIT_BYTES). */
  bodyLimitBytes: number;
  /** Most tokens a query may have (PARLEY_GRAPHQL_MAX_TOKENS). */
  maxTokens: number;
}

/** Joins the resolver maps of each capability (several define Query and Mutation fields). */
function merge(...parts: IResolvers[]): IResolvers {
  const out: Record<string, Record<string, unknown>> = {};
  for (const p of parts)
    for (const [type, fields] of Object.entries(p))
      out[type] = { ...out[type], ...(fields as Record<string, unknown>) };
  return out as IResolvers;
}

export function graphqlPlugin(opts: GraphqlOptions) {
  const adminHash = opts.adminKey ? hashKey(opts.adminKey) : undefined;
  const deps: GraphqlDeps = {
    prisma: opts.prisma,
    pool: opts.pool,
    keys: opts.keys,
    adminConfigured: adminHash !== undefined,
  };
  const limits = { maxFields: MAX_FIELDS, maxDepth: MAX_DEPTH };
  return async (app: FastifyInstance): Promise<void> => {
    await app.register(async (scope) => {
      scope.addHook('onRoute', adjustGraphqlRoute);
      scope.addHook('onRequest', async (request, reply) => {
        if (request.method !== 'GET') return;
        // A GET carries its query in the URL, which the body limit does not see: hold it to the same bound.
        // (Node itself refuses request heads over 16 KiB, --max-http-header-size, with a 431.)
        if (request.url.length > opts.bodyLimitBytes) {
          const message = `Request URL too long: /graphql accepts at most ${opts.bodyLimitBytes} bytes (PARLEY_GRAPHQL_BODY_LIMIT_BYTES).`;
          throw new RequestRefused(414, [new GraphQLError(message, { extensions: { code: 'URI_TOO_LONG' } })]);
        }
        // A browser opening /graphql gets the IDE; API clients (JSON, or ?query=) get GraphQL.
        if (request.url.split('?')[0] !== '/graphql') return;
        const q = request.query as { query?: unknown };
        if (q.query === undefined && /text\/html/.test(request.headers.accept ?? ''))
          return reply.redirect('/graphiql');
      });
      await scope.register(mercurius, {
        schema,
        resolvers: {
          DateTime,
          ...merge(todoResolvers(deps), keyResolvers(deps), usageResolvers(deps), usageSeriesResolvers(deps)),
        },
        path: '/graphql',
        // Parley serves GraphiQL itself (./graphiql.ts): mercurius' page loads it from a CDN.
        graphiql: false,
        jit: 1,
        cache: QUERY_CACHE_SIZE,
        graphql: { parseOptions: { maxTokens: opts.maxTokens } },
        // Depth, fields and validation are checked by checkQuery (below), before mercurius caches anything.
        additionalRouteOptions: { bodyLimit: opts.bodyLimitBytes },
        context: async (request) => ({ caller: await identify(request, opts.auth, adminHash) }),
        errorFormatter: formatErrors,
      });
      scope.graphql.addHook('preValidation', async (schema, document) => checkQuery(schema, document, limits));
      await scope.register(graphiqlRoutes);
    });
  };
}
