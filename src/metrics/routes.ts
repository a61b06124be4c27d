/**
 * GET /metrics: Prometheus' text format. Open by default, like most exporters (it holds no
 * secret: labels are bounded to configured names, see ./metrics.ts); with PARLEY_METRICS_TOKEN
 * set it needs that token as a Bearer credential, compared in constant time.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { bearer, hashKey } from '../auth/keys.js';
import { errors } from '../protocol/errors.js';
import type { Metrics } from './metrics.js';

export function metricsRoutes(app: FastifyInstance, metrics: Metrics, token: string | undefined): void {
  const tokenHash = token ? hashKey(token) : undefined;
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (tokenHash) {
      const given = bearer(request.headers.authorization);
      if (!given || !timingSafeEqual(hashKey(given), tokenHash)) throw errors.metricsTokenRequired();
    }
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).header('cache-control', 'no-store').send(body);
  });
}
