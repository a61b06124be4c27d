/**
 * Builds the HTTP server: Fastify with the OpenAI schemas, request ids, auth, the routes,
 * errors in OpenAI's envelope, and the OpenAPI document with Swagger UI at /docs.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Settings } from '../config/env.js';
import type { AuthFailures } from '../auth/failures.js';
import type { Authenticator } from '../auth/keys.js';
import { ChatPipeline } from '../pipeline/chat.js';
import { newContext, type ChatContext } from '../pipeline/context.js';
import { ApiError } from '../protocol/errors.js';
import { openaiSchemas } from '../protocol/schemas.js';
import type { Router } from '../routing/router.js';
import type { UsageSink } from '../usage/record.js';
import { stdoutDestination } from '../logging/destination.js';
import { isVapiRequest, vapiContextOf, withoutVapiFields } from '../vapi/context.js';
import { clientErrorHandler, receiveDeadline } from './client-errors.js';
import { CLIENT_CLOSED, sendApiError, toApiError } from './errors.js';
import { capLine, cappedErr } from './log-limits.js';
import { Lifecycle } from './lifecycle.js';
import { ChatRecorder } from './record.js';
import { chatRoutes } from './routes/chat.js';
import { healthRoutes } from './routes/health.js';
import { homeRoutes } from './routes/home.js';
import { modelRoutes } from './routes/models.js';

declare module 'fastify' {
  interface FastifyRequest {
    chat: ChatContext | null;
  }
  interface FastifyContextConfig {
    /** Set on the chat routes: which route the usage record names. */
    chat?: 'openai' | 'vapi';
    /** Set on other routes that need a client key. */
    auth?: boolean;
  }
}

export interface AppDeps {
  settings: Settings;
  router: Router;
  auth: Authenticator;
  usage: UsageSink;
  logger?: false;
  /** Where log lines go (tests capture them); stdout by default. */
  logStream?: DestinationStream;
  /** Extra routes (GraphQL, …) registered by other capabilities. */
  plugins?: ((app: FastifyInstance) => Promise<void> | void)[];
}

export interface ParleyApp {
  app: FastifyInstance;
  pipeline: ChatPipeline;
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
    logger:
      deps.logger === false
        ? false
        : {
            level: settings.logLevel,
            stream: deps.logStream ?? stdoutDestination(),
            redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.apiKey'], censor: '[redacted]' },
            // No value a client or upstream chose makes a line long (http/log-limits.ts).
            serializers: { err: cappedErr },
            hooks: { streamWrite: capLine },
          },
    bodyLimit: settings.bodyLimitBytes,
    // A request must fully arrive within PARLEY_BODY_TIMEOUT_MS, or get 408 and lose its
    // connection: slow bodies would otherwise hold file descriptors forever (client-errors.ts).
    // Fastify sets requestTimeout on the server after creating it; headersTimeout and the
    // checking interval can only be given at creation.
    requestTimeout,
    http: { requestTimeout, headersTimeout, connectionsCheckingInterval },
    clientErrorHandler: clientErrorHandler(settings.bodyTimeoutMs),
    // One log line per chat request (http/record.ts) instead of two per request.
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
  const pipeline = new ChatPipeline({ router: deps.router, settings });
  const recorder = new ChatRecorder(deps.usage, settings.logContent);

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
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'A Parley API key (PARLEY_API_KEYS or a database key).' } } },
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
    // GraphQL describes itself (introspection, GraphiQL); the document only says where it is.
    transform: ({ schema, url }) => {
      if (url.startsWith('/graphiql')) return { schema: { ...schema, hide: true }, url };
      if (url === '/graphql') {
        const doc = { tags: ['graphql'], summary: 'GraphQL (todos, API keys, usage): GraphQL-over-HTTP; GraphiQL at /graphiql', security: [{ bearerAuth: [] }] };
        return { schema: { ...schema, ...doc }, url };
      }
      return { schema, url };
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.decorateRequest('chat', null);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    const cfg = request.routeOptions.config;
    if (cfg.chat) request.chat = newContext(request.id, cfg.chat, performance.now());
    // Authentication first: only an authenticated request becomes a usage record (a refused
    // one is counted by the Authenticator), so even the shutdown 503 below is recorded only
    // for requests that had a valid key.
    if (cfg.chat || cfg.auth) {
      const principal = await deps.auth.authenticate(request);
      if (request.chat) request.chat.principal = principal;
    }
    if (lifecycle.phase === 'shutting_down' && request.url !== '/health') {
      throw new ApiError(503, 'Parley is shutting down; retry on another instance.', 'service_unavailable', 'shutting_down');
    }
  });

  // Vapi's own fields (call, customer, metadata of any shape, …) are taken off the body before
  // the OpenAI schema sees it: they are facts about the call, not OpenAI parameters.
  app.addHook('preValidation', async (request) => {
    const ctx = request.chat;
    if (ctx && isVapiRequest(request.body)) {
      ctx.route = 'vapi';
      ctx.vapi = vapiContextOf(request.body);
      request.body = withoutVapiFields(request.body);
    }
  });

  app.setErrorHandler((err, request, reply) => {
    const e = toApiError(err as Error, request);
    if (e.status >= 500) request.log.error({ err }, 'unhandled error');
    const ctx = request.chat;
    if (ctx) {
      ctx.status = e.status;
      ctx.errorType = e === CLIENT_CLOSED ? null : e.type;
      ctx.clientAborted = e === CLIENT_CLOSED;
      ctx.stream = (request.body as { stream?: unknown } | undefined)?.stream === true;
      ctx.requestedModel = typeof (request.body as { model?: unknown } | undefined)?.model === 'string' ? (request.body as { model: string }).model : null;
      recorder.finish(request, ctx);
    }
    return sendApiError(reply, e);
  });

  app.setNotFoundHandler((request, reply) =>
    sendApiError(reply, new ApiError(404, `Unknown request URL: ${request.method} ${request.url.split('?')[0]}. Please check the URL for typos.`, 'invalid_request_error', 'unknown_url')),
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  homeRoutes(app);
  healthRoutes(app, lifecycle);
  modelRoutes(app, deps.router);
  chatRoutes(app, pipeline, recorder);
  for (const plugin of deps.plugins ?? []) await plugin(app);

  return { app, pipeline, lifecycle, authFailures: deps.auth.failures };
}
