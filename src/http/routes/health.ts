/** GET /health: no auth, no upstream call. 200 when ready, 503 while starting or shutting down. */
import type { FastifyInstance } from 'fastify';
import type { Lifecycle } from '../lifecycle.js';

export function healthRoutes(app: FastifyInstance, lifecycle: Lifecycle): void {
  app.get(
    '/health',
    {
      schema: {
        summary: 'Readiness',
        tags: ['health'],
        response: {
          200: { type: 'object', properties: { status: { type: 'string', enum: ['ready'] } }, required: ['status'] },
          503: {
            type: 'object',
            properties: { status: { type: 'string', enum: ['starting', 'shutting_down'] } },
            required: ['status'],
          },
        },
      },
    },
    async (_request, reply) => reply.code(lifecycle.ready ? 200 : 503).send({ status: lifecycle.phase }),
  );
}
