/**
 * GET /: what someone opening Parley's address finds. A browser gets a short page linking to
 * the API documentation and GraphiQL; any other client gets the same links as JSON. Links are
 * relative, so they stay right behind a proxy that mounts Parley under a path.
 */
import type { FastifyInstance } from 'fastify';

interface Link {
  /** Its name in the JSON answer. */
  key: string;
  href: string;
  title: string;
  what: string;
}

const LINKS: Link[] = [
  {
    key: 'console',
    href: 'console/',
    title: 'Console',
    what: 'sign in with the admin key: try models, manage keys, see usage, logs and routes',
  },
  { key: 'docs', href: 'docs', title: 'API documentation', what: 'Swagger UI: every route, with examples to try' },
  { key: 'graphiql', href: 'graphiql', title: 'GraphiQL', what: 'todos, API keys and usage over GraphQL' },
  {
    key: 'models',
    href: 'v1/models',
    title: 'Models',
    what: 'the model names this server routes (needs a key when keys are configured)',
  },
  { key: 'openapi', href: 'openapi.json', title: 'OpenAPI document', what: 'the machine-readable API description' },
  { key: 'health', href: 'health', title: 'Health', what: 'readiness' },
  { key: 'metrics', href: 'metrics', title: 'Metrics', what: 'Prometheus metrics (PARLEY_METRICS_TOKEN when set)' },
];

function page(links: Link[]): string {
  const items = links.map((l) => `    <li><a href="${l.href}">${l.title}</a> — ${l.what}</li>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Parley</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <style>body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; padding: 0 1rem; } code { background: #f3f3f3; padding: 0 .2em; }</style>
</head>
<body>
  <h1>Parley</h1>
  <p>A gateway that speaks the OpenAI Chat Completions protocol. Point any OpenAI client at this
  server's <code>/v1</code> (a Vapi Custom LLM at its root) and send <code>Authorization: Bearer &lt;key&gt;</code>
  when keys are configured.</p>
  <ul>
${items}
  </ul>
</body>
</html>
`;
}

export function homeRoutes(app: FastifyInstance): void {
  // Built once every route is known: GraphiQL is there only when the database is.
  let html = '';
  let json = '';
  app.addHook('onReady', async () => {
    const links = LINKS.filter((l) => app.hasRoute({ method: 'GET', url: `/${l.href}` }));
    html = page(links);
    json = JSON.stringify({ name: 'Parley', links: Object.fromEntries(links.map((l) => [l.key, `/${l.href}`])) });
  });
  app.get('/', { schema: { hide: true } }, async (request, reply) =>
    /text\/html/.test(request.headers.accept ?? '')
      ? reply.type('text/html; charset=utf-8').send(html)
      : reply.type('application/json; charset=utf-8').send(json),
  );
}
