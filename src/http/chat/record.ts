/**
 * Ends a chat request's bookkeeping: one log line and one usage record, exactly once,
 * whether it succeeded, failed validation, or the client left — for authenticated requests.
 * A request refused for authentication is not usage: the Authenticator counts it instead
 * (auth/failures.ts), so nobody without a key can write rows or crowd out real records.
 */
import type { FastifyRequest } from 'fastify';
import type { Spend } from '../../limits/index.js';
import { capped } from '../../logging/limits.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { ChatContext } from '../../pipeline/context.js';
import { toRecord } from '../../pipeline/context.js';
import type { Tracer } from '../../tracing/tracer.js';
import type { UsageSink } from '../../usage/record.js';

export class ChatRecorder {
  constructor(
    private readonly sink: UsageSink,
    /** PARLEY_LOG_CONTENT: also log the request's messages (off by default: prompts are private). */
    private readonly logContent = false,
    private readonly metrics?: Metrics,
    /** Starts each request's trace span (OTEL_EXPORTER_OTLP_ENDPOINT); none when tracing is off. */
    private readonly tracer?: Tracer,
    /** Prices (each record's cost) and the limiter (its reservation settled here, once per request). */
    private readonly spend?: Spend,
  ) {}

  /** A request's context was made: its trace span starts, under the caller's `traceparent` if any. */
  startTrace(ctx: ChatContext, traceparent: string | string[] | undefined): void {
    if (this.tracer) ctx.trace = this.tracer.start(traceparent);
  }

  finish(request: FastifyRequest, ctx: ChatContext): void {
    if (ctx.recorded) return;
    ctx.recorded = true;
    if (ctx.principal === null) return;
    const cost = this.costOf(ctx);
    this.spend?.limiter?.settle(ctx, cost);
    const record = toRecord(ctx, performance.now(), cost);
    // No key, and no prompt text unless PARLEY_LOG_CONTENT says so: ids, sizes and timings.
    // Names a client or upstream chose are capped (a 10 MB model name must not make a 10 MB line).
    request.log.info(
      {
        route: record.route,
        key: record.keyId,
        model: capped(record.requestedModel),
        provider: record.provider,
        upstreamModel: capped(record.upstreamModel),
        stream: record.stream,
        status: record.status,
        errorType: capped(record.errorType) ?? undefined,
        tokens: record.totalTokens ?? undefined,
        costMicros: record.costMicros ?? undefined,
        ttftMs: record.ttftMs ?? undefined,
        durationMs: record.durationMs,
        clientAborted: record.clientAborted || undefined,
        fallback: record.fallback || undefined,
        vapi: record.vapi ?? undefined,
        // Only when there is something to tell: a failover, a hedge, a deadline.
        attempts: record.attempts && record.attempts.length > 1 ? record.attempts : undefined,
        usageEstimated: record.usageEstimated || undefined,
        messages: this.logContent ? (request.body as { messages?: unknown } | undefined)?.messages : undefined,
      },
      'chat',
    );
    this.sink.record(record);
    this.metrics?.requestFinished(record);
    ctx.trace?.end(record);
  }

  /** The upstream's bill for the request: nothing for the offline model or a fallback sentence, null when unpriced. */
  private costOf(ctx: ChatContext): number | null {
    if (!this.spend || ctx.usage === null) return null;
    // The offline model, a fallback sentence and a replayed answer (Idempotency-Key) cost nothing.
    if (ctx.fallback || ctx.provider === 'builtin' || ctx.replayOf) return 0;
    return this.spend.prices.cost(ctx.upstreamModel, ctx.usage);
  }
}
