/**
 * The composition root: assembles Parley from its settings and, when persistence is on, the
 * opened store — providers and routes, the one Authenticator (chat, models and GraphQL alike),
 * the pipeline, the usage sink, the HTTP app with the GraphQL routes, and the graceful shutdown
 * that SIGTERM/SIGINT trigger. Nothing else wires layers together: store/ knows neither the
 * server nor GraphQL. main.ts calls this; tests call it with their own settings.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { Authenticator, StaticKeys } from './auth/keys.js';
import { isLoopback, type Settings, SettingsError } from './config/env.js';
import { type FileConfig, loadFileConfig } from './config/file.js';
import { adminRoutes } from './console/admin-routes.js';
import { consoleRoutes } from './console/routes.js';
import { graphqlPlugin } from './graphql/plugin.js';
import { type AppDeps, buildApp, type ParleyApp } from './http/app.js';
import { createSpend } from './limits/index.js';
import { Metrics } from './metrics/metrics.js';
import { ChatPipeline } from './pipeline/chat.js';
import { startRetention } from './protocols/responses/retention.js';
import { MemoryResponseStore } from './protocols/responses/store.js';
import { buildRouter, type Router } from './routing/router.js';
import type { Store } from './store/index.js';
import { startTracing } from './tracing/tracer.js';
import { discardSink, type UsageSink } from './usage/record.js';

export interface ParleyOptions {
  settings: Settings;
  fileConfig?: FileConfig;
  /** The model table, when the caller built it already (main.ts checks the routes before the database starts). */
  router?: Router;
  logger?: false;
  /** The process's logger, shared with the store (main.ts); built from the settings if absent. */
  log?: AppDeps['log'];
  /** Where log lines go instead of stdout (tests capture them). */
  logStream?: AppDeps['logStream'];
  /**
   * The opened persistence layer: its keys join PARLEY_API_KEYS, it receives the usage records,
   * GraphQL is served over it, and it is closed after the HTTP server (flush, then close).
   */
  store?: Store;
  /** Where usage records go without a store (tests keep them in memory); discarded by default. */
  usage?: UsageSink;
  /** Extra routes (tests). */
  plugins?: ((app: FastifyInstance) => Promise<void> | void)[];
}

export interface Parley extends ParleyApp {
  /** Prometheus metrics (GET /metrics); other capabilities count into it (rateLimitRefused). */
  metrics: Metrics;
  /** Listens and marks the server ready; returns the bound address. */
  listen(): Promise<string>;
  /** Stops accepting, lets in-flight requests finish within the grace period, then closes. */
  shutdown(): Promise<void>;
}

export async function createParley(opts: ParleyOptions): Promise<Parley> {
  const { settings } = opts;
  const fileConfig = opts.fileConfig ?? (settings.configFile ? loadFileConfig(settings.configFile) : {});
  const router = opts.router ?? buildRouter(settings, fileConfig);
  const { store } = opts;
  const auth = new Authenticator([new StaticKeys(settings.apiKeys), ...(store ? [store.keys] : [])]);
  if (auth.open && !isLoopback(settings.host)) {
    throw new SettingsError(
      `Refusing to listen on ${settings.host} with no API key configured: anyone who can reach it could spend your upstream credits. Set PARLEY_API_KEYS (comma-separated keys), or HOST=127.0.0.1 for local use.`,
    );
  }
  const usage = store?.usage ?? opts.usage ?? discardSink;
  const metrics = new Metrics(router.modelNames());
  if (store) metrics.watchUsage(store.usage);
  // Cost for every record; limits when any can apply (limits/index.ts). Its warnings go to the app's log.
  let appLog: FastifyBaseLogger | undefined;
  const spend = await createSpend(settings, fileConfig, store?.db.pool ?? null, {
    warn: (obj, msg) => appLog?.warn(obj, msg),
    info: (msg) => appLog?.info(msg),
  });
  const pipeline = new ChatPipeline({ router, settings, metrics, limiter: spend.limiter });
  const plugins = [...(opts.plugins ?? [])];
  // The console and its admin JSON API (src/console/).
  plugins.push(consoleRoutes, adminRoutes({ router, adminKey: settings.adminKey, pool: store?.db.pool }));
  if (store) {
    const { graphqlBodyLimitBytes: bodyLimitBytes, graphqlMaxTokens: maxTokens, adminKey } = settings;
    plugins.push(
      graphqlPlugin({
        prisma: store.db.prisma,
        pool: store.db.pool,
        keys: store.keys,
        auth,
        adminKey,
        bodyLimitBytes,
        maxTokens,
      }),
    );
  }
  // Tracing is off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; then the SDK is loaded (tracing/otel.ts).
  const tracer = await startTracing(settings);
  // Stored Responses API responses: the database's, or process memory when there is none.
  const responses = store?.responses ?? new MemoryResponseStore();
  const built = await buildApp({
    settings,
    router,
    pipeline,
    auth,
    usage,
    metrics,
    tracer,
    responses,
    spend,
    logger: opts.logger,
    log: opts.log,
    logStream: opts.logStream,
    plugins,
  });
  const { app, inflight, lifecycle } = built;
  const retention = startRetention(responses, settings.responsesRetentionDays, app.log);
  appLog = app.log;
  // The auth mode (open included) is stated in the "listening" line main.ts logs (startup-line.ts).

  let closing: Promise<void> | undefined;
  return {
    ...built,
    metrics,
    async listen() {
      const address = await app.listen({ port: settings.port, host: settings.host });
      lifecycle.phase = 'ready';
      return address;
    },
    shutdown() {
      closing ??= (async () => {
        lifecycle.phase = 'shutting_down';
        const timer = setTimeout(() => {
          app.log.warn({ inflight: inflight.size }, 'shutdown grace period over: ending the streams still open');
          inflight.abortAll();
          setTimeout(() => app.server.closeAllConnections(), 1000).unref();
        }, settings.shutdownGraceMs);
        timer.unref();
        try {
          await app.close();
        } finally {
          clearTimeout(timer);
          retention.stop();
          await router.close();
          await spend.close();
          // The store's close flushes its own sink (bounded, the rest spilled to a file).
          if (store) await store.close();
          else await usage.flush();
          // The spans still batched are exported (bounded by the exporter's own timeout).
          await tracer?.shutdown();
        }
      })();
      return closing;
    },
  };
}
