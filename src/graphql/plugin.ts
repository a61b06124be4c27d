/**
 * GraphQL at /graphql (GraphQL-over-HTTP: POST JSON, GET with query parameters for
 * queries), GraphiQL at /graphiql and on a browser's GET /graphql.
 *
 * mercurius because it is Fastify's own GraphQL server: the same server, hooks, logger
 * and inject() as the chat routes, query parsing/validation cached per query text, and
 * optional JIT compilation of hot queries (graphql-jit). Resolvers call the generated
 * Prisma client, so their reads and writes are type-checked against schema.prisma.
 */
import type { FastifyInstance } from 'fastify';
import mercurius, { type IResolvers } from 'mercurius';
import { hashKey, type Authenticator } from '../auth/keys.js';
import { identify } from './auth.js';
import type { GraphqlDeps } from './context.js';
import { formatErrors } from './errors.js';
import { maxFieldsRule } from './limits.js';
import { keyResolvers } from './resolvers/keys.js';
import { todoResolvers } from './resolvers/todos.js';
import { usageResolvers } from './resolvers/usage.js';
import { DateTime } from './scalars.js';
import { schema } from './schema.js';

/** Deepest nesting a query may have (the schema itself needs 4: requestLogs → nodes → vapi → callId). */
export const MAX_DEPTH = 6;
/** Most fields one operation may select, aliases and fragments expanded. */
export const MAX_FIELDS = 300;

export interface GraphqlOptions extends Omit<GraphqlDeps, 'adminConfigured'> {
  auth: Authenticator;
  adminKey?: string;
}

/** Joins the resolver maps of each capability (several define Query and Mutation fields). */
function merge(...parts: IResolvers[]): IResolvers {
  const out: Record<string, Record<string, unknown>> = {};
  for (const p of parts) for (const [type, fields] of Object.entries(p)) out[type] = { ...out[type], ...(fields as Record<string, unknown>) };
  return out as IResolvers;
}

export function graphqlPlugin(opts: GraphqlOptions) {
  const adminHash = opts.adminKey ? hashKey(opts.adminKey) : undefined;
  const deps: GraphqlDeps = { prisma: opts.prisma, pool: opts.pool, keys: opts.keys, adminConfigured: adminHash !== undefined };
  return async (app: FastifyInstance): Promise<void> => {
    await app.register(async (scope) => {
      // A browser opening /graphql gets the IDE; API clients (JSON, or ?query=) get GraphQL.
      scope.addHook('onRequest', async (request, reply) => {
        if (request.method !== 'GET' || request.url.split('?')[0] !== '/graphql') return;
        const q = request.query as { query?: unknown };
        if (q.query === undefined && /text\/html/.test(request.headers.accept ?? '')) return reply.redirect('/graphiql');
      });
      await scope.register(mercurius, {
        schema,
        resolvers: { DateTime, ...merge(todoResolvers(deps), keyResolvers(deps), usageResolvers(deps)) },
        path: '/graphql',
        graphiql: true,
        jit: 1,
        queryDepth: MAX_DEPTH,
        validationRules: [maxFieldsRule(MAX_FIELDS)],
        context: async (request) => ({ caller: await identify(request, opts.auth, adminHash) }),
        errorFormatter: formatErrors,
      });
    });
  };
}
