/**
 * GraphiQL at /graphiql, served entirely by Parley: the page, a small start script, and
 * GraphiQL's and React's prebuilt browser bundles from the installed npm packages (graphiql,
 * react, react-dom; the versions mercurius' own page loads). mercurius' page loads those from
 * unpkg.com instead, which leaves a blank page on a machine without internet access.
 *
 * Every URL is relative, so the page also works behind a proxy that mounts Parley under a
 * path. The assets are sent by @fastify/static (ETag, Last-Modified, 304s), each from a
 * fixed file: nothing else in those packages can be requested.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const require = createRequire(import.meta.url);
const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

/** What /graphiql/assets/<name> serves: [directory, file]. */
export const GRAPHIQL_ASSETS = new Map<string, [string, string]>([
  ['graphiql.min.css', [packageDir('graphiql'), 'graphiql.min.css']],
  ['react.production.min.js', [join(packageDir('react'), 'umd'), 'react.production.min.js']],
  ['react-dom.production.min.js', [join(packageDir('react-dom'), 'umd'), 'react-dom.production.min.js']],
  ['graphiql.min.js', [packageDir('graphiql'), 'graphiql.min.js']],
]);

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Parley · GraphiQL</title>
  <meta name="robots" content="noindex">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="stylesheet" href="graphiql/assets/graphiql.min.css">
  <style>body { margin: 0; } #graphiql { height: 100vh; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="graphiql/assets/react.production.min.js"></script>
  <script src="graphiql/assets/react-dom.production.min.js"></script>
  <script src="graphiql/assets/graphiql.min.js"></script>
  <script src="graphiql/start.js"></script>
</body>
</html>
`;

/** The start script: a file rather than inline, so a Content-Security-Policy without 'unsafe-inline' allows it. */
const START = `// Parley's GraphiQL (src/graphql/graphiql.ts): renders GraphiQL against this server's /graphql.
const defaultQuery = \`# Parley's GraphQL API. Todos need a client key; apiKeys, usage, requestLogs,
# createApiKey and revokeApiKey need the admin key (PARLEY_ADMIN_KEY). Put it in the
# Headers tab below: {"Authorization": "Bearer <key>"}. Parley running open (no key
# configured) answers requests from this machine without one.
# The schema's documentation is behind the book icon; examples are in docs/data.md.

query {
  todos { id title completed createdAt }
}
\`;
const fetcher = GraphiQL.createFetcher({ url: new URL('graphql', window.location.href).href });
ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, { fetcher, defaultQuery, defaultEditorToolsVisibility: 'headers' }),
);
`;

export async function graphiqlRoutes(app: FastifyInstance): Promise<void> {
  // Only reply.sendFile is wanted: no directory is served.
  await app.register(fastifyStatic, { root: packageDir('graphiql'), serve: false });
  const hidden = { schema: { hide: true } };
  app.get('/graphiql', hidden, async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE));
  app.get('/graphiql/start.js', hidden, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').send(START),
  );
  app.get<{ Params: { name: string } }>('/graphiql/assets/:name', hidden, async (request, reply) => {
    const asset = GRAPHIQL_ASSETS.get(request.params.name);
    if (!asset) return reply.callNotFound();
    return reply.sendFile(asset[1], asset[0]);
  });
}
