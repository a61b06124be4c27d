/**
 * GET /v1/models: the model names Parley can route, in OpenAI's list shape: its aliases, then
 * the default upstream's own models (fetched from it, cached briefly, never waited on longer
 * than UPSTREAM_MODELS_TIMEOUT_MS), so model pickers such as Open WebUI's offer them.
 */
import type { FastifyInstance } from 'fastify';
import { ref } from '../../protocol/schemas.js';
import type { Router } from '../../routing/router.js';

export function modelRoutes(app: FastifyInstance, router: Router): void {
  app.get(
    '/v1/models',
    {
      schema: {
        summary: "List the models Parley can route: its aliases and the default upstream's models",
        tags: ['models'],
        security: [{ bearerAuth: [] }],
        response: { 200: ref('ListModelsResponse'), '4xx': ref('ErrorResponse') },
      },
      serializerCompiler: () => (data: unknown) => JSON.stringify(data),
      config: { auth: true },
    },
    async (request) => {
      const models = await router.listModels((err) =>
        request.log.warn({ err }, 'the default upstream did not list its models: /v1/models lists the aliases alone'),
      );
      return {
        object: 'list',
        data: models.map((m) => ({ id: m.id, object: 'model', created: m.created, owned_by: m.owned_by })),
      };
    },
  );
}
