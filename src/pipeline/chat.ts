/**
 * The chat request path, top to bottom once the body is authenticated and validated:
 * route → provider (targets in order, fallback reply last) → relay → record.
 */
import type { FastifyReply } from 'fastify';
import type { Settings } from '../config/env.js';
import { includeUsageOf, type ChatRequest } from '../protocol/chat.js';
import { ApiError, echoed } from '../protocol/errors.js';
import { assertJsonDepth } from '../protocol/json-depth.js';
import { BuiltinProvider } from '../providers/builtin/index.js';
import { UpstreamError, type ProviderRequest, type ProviderResponse } from '../providers/types.js';
import type { Route, Router } from '../routing/router.js';
import type { ChatContext } from './context.js';
import { relayStream, SHUTDOWN } from './relay.js';

export interface ChatDeps {
  router: Router;
  settings: Pick<Settings, 'upstreamFields'>;
}

const fallbackSpeaker = new BuiltinProvider(0);

export class ChatPipeline {
  /** Requests in flight, so shutdown can end streams that outlive its grace period. */
  private readonly inflight = new Set<AbortController>();

  constructor(private readonly deps: ChatDeps) {}

  get activeRequests(): number {
    return this.inflight.size;
  }

  /** Ends every request still running (shutdown's grace period is over). */
  abortAll(): void {
    for (const ac of this.inflight) ac.abort(SHUTDOWN);
  }

  /**
   * Answers one chat request on `reply`. Errors before the first byte are thrown as
   * ApiError for the HTTP error handler; the caller records the context either way.
   */
  async handle(body: ChatRequest, ctx: ChatContext, reply: FastifyReply): Promise<void> {
    ctx.requestedModel = body.model;
    ctx.stream = body.stream === true;
    // Vapi's fields were taken off the body before validation (http/app.ts); its requests use the allow-list.
    const vapi = ctx.vapi !== null;
    const allowed = ctx.principal?.allowedModels;
    if (allowed && !allowed.includes(body.model)) {
      throw new ApiError(403, `This API key may not use the model \`${echoed(body.model)}\`.`, 'permission_error', 'model_not_allowed', 'model');
    }
    // Before any provider recurses over the body (JSON.stringify for the upstream).
    assertJsonDepth(body);
    const route = this.deps.router.resolve(body.model);
    const policy = this.deps.settings.upstreamFields;
    const ac = new AbortController();
    const res = reply.raw;
    // The client leaving aborts the upstream at once: tokens cost money.
    const onClose = () => {
      if (!res.writableFinished) ac.abort(new Error('client disconnected'));
    };
    res.once('close', onClose);
    this.inflight.add(ac);
    try {
      const call: Omit<ProviderRequest, 'upstreamModel'> = {
        request: body,
        stream: ctx.stream,
        allowlistOnly: policy === 'allowlist' || (policy === 'auto' && vapi),
        signal: ac.signal,
        requestId: ctx.requestId,
      };
      const answer = await this.callTargets(route, call, ctx);
      if (answer.kind === 'json') {
        ctx.usage = answer.usage ?? null;
        ctx.status = 200;
        reply.header('content-type', 'application/json').send(answer.body);
        return;
      }
      reply.hijack();
      try {
        await relayStream(res, answer.events, ctx, { includeUsage: includeUsageOf(body), signal: ac.signal });
      } catch (err) {
        // Failed before the first chunk: nothing was sent, so answer with the HTTP status.
        if (res.headersSent) throw err;
        const e = asApiError(err);
        ctx.status = e.status;
        ctx.errorType = e.type;
        res.writeHead(e.status, { ...errorHeaders(e), 'content-type': 'application/json', 'x-request-id': ctx.requestId });
        res.end(e.toJson());
      }
    } catch (err) {
      if (ac.signal.aborted && ac.signal.reason !== SHUTDOWN) {
        ctx.clientAborted = true;
        ctx.status ||= 499;
        return;
      }
      throw err;
    } finally {
      res.off('close', onClose);
      this.inflight.delete(ac);
    }
  }

  /** Tries each target in order; a retryable failure before the first byte moves on to the next. */
  private async callTargets(route: Route, call: Omit<ProviderRequest, 'upstreamModel'>, ctx: ChatContext): Promise<ProviderResponse> {
    let lastError: unknown;
    for (const target of route.targets) {
      ctx.provider = target.provider.id;
      ctx.upstreamModel = target.model;
      try {
        return await target.provider.chat({ ...call, upstreamModel: target.model });
      } catch (err) {
        if (call.signal.aborted) throw err;
        lastError = err;
        if (!(err instanceof UpstreamError) || !err.retryable) break;
      }
    }
    if (route.fallbackReply && !call.signal.aborted) {
      // Better a short sentence than dead air on a live call; still recorded as a failure.
      const e = asApiError(lastError);
      ctx.fallback = true;
      ctx.errorType = e.type;
      return fallbackSpeaker.answer({ ...call, upstreamModel: route.model }, route.fallbackReply);
    }
    throw lastError;
  }
}

/** Headers an error carries to the client (an upstream's retry-after and x-ratelimit-*), if any. */
export function errorHeaders(e: ApiError): Record<string, string | string[]> | undefined {
  return e instanceof UpstreamError ? e.headers : undefined;
}

export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { type?: string; code?: string; message?: string };
  if (err === SHUTDOWN) return new ApiError(503, SHUTDOWN.message, 'service_unavailable', 'shutting_down');
  return new ApiError(500, 'The server had an error while processing your request.', 'server_error', e?.code ?? null);
}
