/**
 * Builds the HTTP server: Fastify with the OpenAI schemas, request ids, CORS, auth, the
 * routes, errors in OpenAI's envelope, and the OpenAPI document with Swagger UI at /docs.
 * What only chat requests need is the chat routes' own plugin (routes/chat.ts).
 */
import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import type { AuthFailures } from '../auth/failures.js';
import type { Authenticator, Principal } from '../auth/keys.js';
import type { Settings } from '../config/env.js';
import type { Spend } from '../limits/index.js';
import { logDestination } from '../logging/format.js';
import { parleyLogger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { metricsRoutes } from '../metrics/routes.js';
import type { ChatPipeline } from '../pipeline/chat.js';
import { errors } from '../protocol/errors.js';
import { openaiSchemas } from '../protocol/schemas.js';
import { MemoryResponseStore, type ResponseStore } from '../protocols/responses/store.js';
import type { Router } from '../routing/router.js';
import type { Tracer } from '../tracing/tracer.js';
import type { UsageSink } from '../usage/record.js';
import { IdempotencyCache } from '../voice/idempotency/cache.js';
import { retellRoutes } from '../voice/retell/route.js';
import { Inflight } from './chat/inflight.js';
import { ChatRecorder } from './chat/record.js';
import { clientErrorHandler, receiveDeadline } from './client-errors.js';
import { fromFastifyError, sendApiError } from './errors.js';
import { Lifecycle } from './lifecycle.js';
import { chatRoutes } from './routes/chat.js';
import { healthRoutes } from './routes/health.js';
import { homeRoutes } from './routes/home.js';
import { messagesRoutes } from './routes/messages.js';
import { modelRoutes } from './routes/models.js';
import { responsesRoutes } from './routes/responses.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request, on routes with `config.auth` (null elsewhere). */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Set on routes that need a client key. */
    auth?: boolean;
  }
}

export interface AppDeps {
  settings: Settings;
  router: Router;
  pipeline: ChatPipeline;
  /** The one Authenticator, shared with GraphQL (built by the composition root, server.ts). */
  auth: Authenticator;
  usage: UsageSink;
  /** Prometheus metrics: observed as each request ends, served at GET /metrics. */
  metrics?: Metrics;
  /** OpenTelemetry traces, when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
  tracer?: Tracer;
  /** Stored Responses API responses (the database's); kept in memory when absent. */
  responses?: ResponseStore;
  /** Prices for each record's cost, and the limiter whose reservations records settle (limits/index.ts). */
  spend?: Spend;
  logger?: false;
  /** The process's logger (main.ts builds it once, for the store and the app); built from the settings if absent. */
  log?: Logger;
  /** Where log lines go when `log` is absent (tests capture them); stdout by default. */
  logStream?: DestinationStream;
  /** Extra routes (GraphQL, …) registered by other capabilities. */
  plugins?: ((app: FastifyInstance) => Promise<void> | void)[];
}

export interface ParleyApp {
  app: FastifyInstance;
  /** Chat requests in flight (shutdown ends those that outlive its grace period). */
  inflight: Inflight;
  lifecycle: Lifecycle;
  /** Requests refused for authentication (counted, never recorded as usage). */
  authFailures: AuthFailures;
}

/** A client-supplied x-request-id is echoed when it is short and plain; otherwise Parley makes one. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(deps: AppDeps): Promise<ParleyApp> {
  const { settings } = deps;
  const { requestTimeout, headersTimeout, connectionsCheckingInterval } = receiveDeadline(settings.bodyTimeoutMs);
  const app = Fastify({
    // Parley's one logger (logging/logger.ts), shared with the store; or none at all.
    ...(deps.logger === false
      ? { logger: false }
      : {
          loggerInstance: (deps.log ??
            parleyLogger(settings.logLevel, deps.logStream ?? logDestination(settings.logFormat))) as FastifyBaseLogger,
        }),
    bodyLimit: settings.bodyLimitBytes,
    // A request must fully arrive within PARLEY_BODY_TIMEOUT_MS, or get 408 and lose its
    // connection: slow bodies would otherwise hold file descriptors forever (client-errors.ts).
    // Fastify sets requestTimeout on the server after creating it; headersTimeout and the
    // checking interval can only be given at creation.
    requestTimeout,
    http: { requestTimeout, headersTimeout, connectionsCheckingInterval },
    clientErrorHandler: clientErrorHandler(settings.bodyTimeoutMs),
    // One log line per chat request (http/chat/record.ts) instead of two per request.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : `req_${randomUUID().replace(/-/g, '')}`;
    },
    return503OnClosing: false,
    ajv: {
      customOptions: {
        // The body goes upstream as the client sent it: no stripped fields, no coerced types, no injected defaults.
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: false,
        allErrors: false,
        strict: false,
        discriminator: true,
        // Errors carry their schema, so a 400 says "integer" or "decimal" as OpenAI's does (protocol/errors.ts); only failures pay for it.
        verbose: true,
        validateFormats: false,
      },
    },
  });
  // Node's default, made explicit: a token must leave at once, not wait for Nagle's algorithm.
  app.server.on('connection', (socket) => socket.setNoDelay(true));
  const lifecycle = new Lifecycle();
  const inflight = new Inflight();
  const recorder = new ChatRecorder(deps.usage, settings.logContent, deps.metrics, deps.tracer, deps.spend);
  deps.metrics?.watchInflight(() => inflight.size);

  if (settings.corsOrigins.length > 0) {
    // Browsers may call Parley from these origins (PARLEY_CORS_ORIGINS); preflights are answered
    // before authentication (a browser sends no Authorization header on them). The headers are set
    // in onRequest, so error answers and streams (routes/chat.ts copies them) carry them too.
    await app.register(cors, {
      origin: settings.corsOrigins.includes('*') ? '*' : settings.corsOrigins,
      exposedHeaders: [
        'x-request-id',
        'retry-after',
        'retry-after-ms',
        'x-should-retry',
        ...['limit', 'remaining', 'reset'].flatMap((h) => [`x-ratelimit-${h}-requests`, `x-ratelimit-${h}-tokens`]),
      ],
      maxAge: 600,
    });
  }

  for (const schema of Object.values(openaiSchemas)) app.addSchema(schema);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Parley',
        version: '0.1.0',
        description:
          'A self-hosted gateway that speaks the OpenAI Chat Completions protocol. Point any OpenAI client at it; Vapi voice agents can use it as a Custom LLM.',
      },
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'A Parley API key (PARLEY_API_KEYS or a database key).',
          },
          anthropicApiKey: {
            type: 'apiKey',
            in: 'header',
            name: 'x-api-key',
            description: 'The same Parley API key, as the Anthropic SDKs and Claude Code send it.',
          },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
    // GraphQL describes itself (introspection, GraphiQL); the document only says where it is.
    transform: ({ schema, url }) => {
      if (url.startsWith('/graphiql')) return { schema: { ...schema, hide: true }, url };
      if (url === '/graphql') {
        const doc = {
          tags: ['graphql'],
          summary: 'GraphQL (todos, API keys, usage): GraphQL-over-HTTP; GraphiQL at /graphiql',
          security: [{ bearerAuth: [] }],
        };
        return { schema: { ...schema, ...doc }, url };
      }
      return { schema, url };
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.decorateRequest('principal', null);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // Authentication first: only an authenticated request becomes a usage record (a refused
    // one is counted by the Authenticator), so even the shutdown 503 below is recorded only
    // for requests that had a valid key.
    if (request.routeOptions.config.auth) request.principal = await deps.auth.authenticate(request);
    if (lifecycle.phase === 'shutting_down' && request.url !== '/health') throw errors.shuttingDown();
  });

  app.setErrorHandler((err, request, reply) => {
    const e = fromFastifyError(err, request);
    // A client's mistake is not Parley's: one info line without a stack. Refusals for the key
    // get none: the Authenticator counts them and summarises (auth/failures.ts).
    if (e.status >= 500) request.log.error({ err }, 'unhandled error');
    else if (e.type !== 'authentication_error') request.log.info({ status: e.status, code: e.code }, 'request refused');
    return sendApiError(reply, e);
  });

  app.setNotFoundHandler((request, reply) =>
    sendApiError(reply, errors.unknownUrl(request.method, request.url.split('?')[0]!)),
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  homeRoutes(app);
  healthRoutes(app, lifecycle);
  modelRoutes(app, deps.router);
  if (deps.metrics) metricsRoutes(app, deps.metrics, settings.metricsToken);
  const idempotency = new IdempotencyCache({
    windowMs: settings.idempotencyWindowMs,
    maxBytes: settings.idempotencyMaxBytes,
  });
  await app.register(chatRoutes, { pipeline: deps.pipeline, recorder, inflight, idempotency });
  await app.register(retellRoutes, {
    auth: deps.auth,
    router: deps.router,
    pipeline: deps.pipeline,
    recorder,
    maxFrameBytes: settings.bodyLimitBytes,
  });
  await app.register(messagesRoutes, { pipeline: deps.pipeline, recorder, inflight });
  await app.register(responsesRoutes, {
    pipeline: deps.pipeline,
    recorder,
    inflight,
    responses: deps.responses ?? new MemoryResponseStore(),
  });
  for (const plugin of deps.plugins ?? []) await plugin(app);

  return { app, inflight, lifecycle, authFailures: deps.auth.failures };
}
