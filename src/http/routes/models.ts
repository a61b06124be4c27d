/** GET /v1/models: the model names Parley can route, in OpenAI's list shape. */
import type { FastifyInstance } from 'fastify';
import { ref } from '../../protocol/schemas.js';
import type { Router } from '../../routing/router.js';

export function modelRoutes(app: FastifyInstance, router: Router): void {
  const created = Math.floor(Date.now() / 1000);
  app.get(
    '/v1/models',
    {
      schema: {
        summary: 'List the models Parley can route',
        tags: ['models'],
        security: [{ bearerAuth: [] }],
        response: { 200: ref('ListModelsResponse'), '4xx': ref('ErrorResponse') },
      },
      serializerCompiler: () => (data: unknown) => JSON.stringify(data),
      config: { auth: true },
    },
    async () => ({
      object: 'list',
      data: router.list().map((m) => ({ id: m.id, object: 'model', created, owned_by: m.ownedBy })),
    }),
  );
}
