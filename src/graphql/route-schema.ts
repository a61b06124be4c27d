/**
 * Adjusts the schema of mercurius' POST /graphql route as it is registered (an onRoute hook,
 * before Fastify compiles it):
 * - `extensions` may be null: GraphQL-over-HTTP says a server MUST accept `"extensions": null`
 *   (mercurius' schema allows only an object, so the graphql-http audit failed);
 * - example bodies, so /docs' "Try it out" sends a query that works rather than a sample
 *   made up from the schema (`"persisted": true`, an empty query…).
 */
import type { RouteOptions } from 'fastify';

type Schema = Record<string, unknown>;

/** Request bodies by name (OpenAPI Example Objects), as /docs offers them. */
const GRAPHQL_EXAMPLES = {
  todos: { summary: 'List todos', value: { query: 'query { todos { id title completed createdAt } }' } },
  createTodo: {
    summary: 'Create a todo',
    value: {
      query: 'mutation ($title: String!) { createTodo(title: $title) { id title completed createdAt } }',
      variables: { title: 'Test Todo' },
    },
  },
};

export function adjustGraphqlRoute(route: RouteOptions): void {
  if (route.url !== '/graphql' || route.method !== 'POST') return;
  const body = route.schema?.body as Schema | undefined;
  const properties = body?.properties as Schema | undefined;
  if (!body || !properties) return;
  route.schema = {
    ...route.schema,
    body: {
      ...body,
      properties: { ...properties, extensions: { type: ['object', 'null'] } },
      'x-examples': GRAPHQL_EXAMPLES,
    },
  };
}
