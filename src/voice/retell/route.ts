/**
 * GET /retell/llm-websocket/:call_id — Retell's custom LLM, over a WebSocket (@fastify/websocket).
 *
 * In Retell, the agent's "Custom LLM URL" is `wss://<parley>/retell/llm-websocket` and Retell
 * appends `/{call_id}`. Retell cannot send headers, but the URL is the user's to write, so:
 * - the Parley key goes in the query, `?key=<key>` (an `Authorization: Bearer` header wins
 *   when a client sends one);
 * - `?model=` picks the model or alias (`default` when absent);
 * - `?begin=` is the begin message (none: the caller speaks first), `?system=` a system prompt.
 * The key, model and model access are checked before the upgrade, so a wrong one is an HTTP
 * 401/403/404 in OpenAI's envelope, which Retell reports as a failed connection.
 */
import fastifyWebsocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../../auth/keys.js';
import type { ChatRecorder } from '../../http/chat/record.js';
import type { ChatPipeline } from '../../pipeline/chat.js';
import { errors } from '../../protocol/errors.js';
import type { Router } from '../../routing/router.js';
import { RetellSession } from './session.js';

export interface RetellRouteDeps {
  auth: Authenticator;
  router: Router;
  pipeline: ChatPipeline;
  recorder: ChatRecorder;
  /** Largest frame accepted (PARLEY_BODY_LIMIT_BYTES); a larger one closes the socket (1009). */
  maxFrameBytes: number;
}

interface Query {
  key?: string;
  model?: string;
  begin?: string;
  system?: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export async function retellRoutes(app: FastifyInstance, deps: RetellRouteDeps): Promise<void> {
  await app.register(fastifyWebsocket, { options: { maxPayload: deps.maxFrameBytes } });

  app.get<{ Params: { call_id: string }; Querystring: Query }>(
    '/retell/llm-websocket/:call_id',
    {
      websocket: true,
      schema: { hide: true },
      // Before the upgrade: a refusal is an HTTP answer, not a socket that opens and closes.
      preValidation: async (request) => {
        const q = request.query;
        const key = str(q.key);
        const headers =
          key && request.headers.authorization === undefined
            ? { ...request.headers, authorization: `Bearer ${key}` }
            : request.headers;
        try {
          request.principal = await deps.auth.authenticate({ headers, socket: request.socket, log: request.log });
        } catch (err) {
          // Counted as a refusal already; the usual message would point at an Authorization header.
          if ((err as { code?: unknown }).code === 'missing_api_key') throw errors.retellMissingKey();
          throw err;
        }
        const model = str(q.model) ?? 'default';
        const allowed = request.principal.allowedModels;
        if (allowed && !allowed.includes(model)) throw errors.modelNotAllowed(model);
        deps.router.resolve(model); // throws model_not_found
      },
    },
    (socket, request) => {
      const q = request.query;
      const session = new RetellSession(socket, {
        pipeline: deps.pipeline,
        recorder: deps.recorder,
        request,
        principal: request.principal!,
        callId: request.params.call_id.slice(0, 200),
        model: str(q.model) ?? 'default',
        system: str(q.system),
      });
      socket.on('message', (data: Buffer, isBinary: boolean) => session.onFrame(data, isBinary));
      socket.on('close', () => session.close());
      session.open(str(q.begin) ?? '');
    },
  );
}
