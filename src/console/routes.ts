/**
 * The console at /console: a single-page app (source in console/, built by `npm run
 * build:console` into console/dist, which `npm run build`, `npm start` and `npm test` run)
 * served by Parley itself from every replica — no CDN, so it works offline. Its pages call
 * Parley's own APIs with the admin key the person signs in with: GraphQL, /admin/routes,
 * /v1/models and /v1/chat/completions.
 *
 * Paths are relative in the built page, so the console also works behind a proxy that mounts
 * Parley under a path; /console redirects to /console/ so those relative paths resolve.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** console/dist, from src/console (tsx) and from dist/console (the compiled server) alike. */
export const CONSOLE_DIST = fileURLToPath(new URL('../../console/dist/', import.meta.url));

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Parley console</title></head>
<body style="font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>The console is not built</h1>
<p>Run <code>npm run build:console</code> (or <code>npm run build</code>, which <code>npm start</code> runs) and reload.</p>
</body></html>
`;

export async function consoleRoutes(app: FastifyInstance): Promise<void> {
  const hidden = { schema: { hide: true } };
  app.get('/console', hidden, async (_request, reply) => reply.redirect('console/'));
  await app.register(async (scope) => {
    // Serves console/dist/assets only; index.html is sent by the route below (it must not be cached).
    await scope.register(fastifyStatic, {
      root: `${CONSOLE_DIST}assets`,
      prefix: '/console/assets/',
      decorateReply: true,
      index: false,
      wildcard: true,
      // The file names carry a content hash (console/build.mjs): cache them for good.
      immutable: true,
      maxAge: '365d',
      schemaHide: true,
    });
    scope.get('/console/', hidden, async (_request, reply) => {
      if (!existsSync(`${CONSOLE_DIST}index.html`))
        return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT);
      // Not cached: it names the current hashed assets (the plugin's immutable caching is for those).
      return reply.header('cache-control', 'no-cache').sendFile('index.html', CONSOLE_DIST, { cacheControl: false });
    });
  });
}
