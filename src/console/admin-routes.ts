/**
 * The console's admin JSON API, for what GraphQL does not hold: GET /admin/routes — the model
 * table (aliases, their targets and fallback, where other names go) and each provider's recent
 * health (requests, error rate, latency over the last minutes, from the request log, so every
 * replica reports the same). Admin key only (PARLEY_ADMIN_KEY), compared in constant time.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { bearer, hashKey } from '../auth/keys.js';
import { errors } from '../protocol/errors.js';
import type { Router } from '../routing/router.js';

/** How far back provider health looks. */
export const HEALTH_WINDOW_MINUTES = 15;

export interface AdminRouteDeps {
  router: Router;
  adminKey?: string;
  /** The database, for provider health; without one the health is empty. */
  pool?: pg.Pool;
}

interface HealthRow {
  provider: string;
  requests: number;
  errors: number;
  p50Ms: number | null;
  p95Ms: number | null;
  ttftP50Ms: number | null;
}

export function adminRoutes({ router, adminKey, pool }: AdminRouteDeps) {
  const adminHash = adminKey ? hashKey(adminKey) : undefined;
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/admin/routes', { schema: { hide: true } }, async (request, reply) => {
      const given = bearer(request.headers.authorization);
      if (!adminHash || !given || !timingSafeEqual(hashKey(given), adminHash))
        throw errors.adminKeyRequired(adminHash !== undefined);
      const table = router.table();
      const health = new Map<string, HealthRow>();
      if (pool) {
        const { rows } = await pool.query<HealthRow>(
          `SELECT provider,
                  count(*)::int AS requests,
                  (count(*) FILTER (WHERE status >= 500))::int AS errors,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY "durationMs")::float8 AS "p50Ms",
                  percentile_cont(0.95) WITHIN GROUP (ORDER BY "durationMs")::float8 AS "p95Ms",
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY "ttftMs")::float8 AS "ttftP50Ms"
             FROM "RequestLog"
            WHERE "createdAt" >= now() - make_interval(mins => $1) AND provider IS NOT NULL
            GROUP BY provider`,
          [HEALTH_WINDOW_MINUTES],
        );
        for (const r of rows) health.set(r.provider, r);
      }
      reply.header('cache-control', 'no-store');
      return {
        // What GET /v1/models lists (aliases and the default upstream's models), for the Playground's picker.
        listed: (
          await router.listModels((err) => request.log.warn({ err }, 'the default upstream did not list its models'))
        ).map((m) => m.id),
        windowMinutes: HEALTH_WINDOW_MINUTES,
        models: table.aliases.map((r) => ({
          model: r.model,
          targets: r.targets.map((t) => ({ provider: t.provider.id, model: t.model })),
          fallbackReply: r.fallbackReply !== undefined,
        })),
        defaultProvider: table.defaultProvider,
        prefixes: table.prefixes,
        providers: [...router.providers.values()].map((p) => {
          const h = health.get(p.id);
          return {
            id: p.id,
            type: p.type,
            requests: h?.requests ?? 0,
            // Upstream failures (5xx: unreachable, timeouts, overload); a client's 4xx says nothing about the provider.
            errorRate: h && h.requests > 0 ? h.errors / h.requests : null,
            p50Ms: h?.p50Ms ?? null,
            p95Ms: h?.p95Ms ?? null,
            ttftP50Ms: h?.ttftP50Ms ?? null,
          };
        }),
      };
    });
  };
}
