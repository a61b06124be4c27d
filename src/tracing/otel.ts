/**
 * The OpenTelemetry implementation of ./tracer.ts, loaded only when tracing is on: spans are
 * batched and sent as OTLP/HTTP to `<endpoint>/v1/traces`. Contexts are passed explicitly (no
 * global context manager, no auto-instrumentation): the request span is the parent of its
 * attempt spans, and an incoming traceparent the parent of the request span.
 *
 * Attributes follow the GenAI semantic conventions (gen_ai.operation.name, gen_ai.request.model,
 * gen_ai.provider.name, gen_ai.usage.input_tokens / output_tokens, error.type) and HTTP's
 * (http.response.status_code, http.route). No key, no prompt or completion text.
 */
import { ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { causeOf } from '../metrics/metrics.js';
import type { RequestRecord } from '../usage/record.js';
import type { AttemptTrace, RequestTrace, Tracer } from './tracer.js';

const propagator = new W3CTraceContextPropagator();
const ROUTES = {
  openai: '/v1/chat/completions',
  vapi: '/chat/completions',
  anthropic: '/v1/messages',
  responses: '/v1/responses',
  retell: '/retell/llm-websocket/:call_id',
} as const satisfies Record<RequestRecord['route'], string>;

export function otelTracer(endpoint: string, serviceName: string): Tracer {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }))],
  });
  const tracer = provider.getTracer('parley');

  return {
    start(traceparent) {
      const header = Array.isArray(traceparent) ? traceparent[0] : traceparent;
      const parent = header
        ? propagator.extract(
            ROOT_CONTEXT,
            { traceparent: header },
            { get: (c, k) => c[k as 'traceparent'], keys: (c) => Object.keys(c) },
          )
        : ROOT_CONTEXT;
      const span = tracer.startSpan(
        'chat',
        { kind: SpanKind.SERVER, attributes: { 'gen_ai.operation.name': 'chat' } },
        parent,
      );
      const own = trace.setSpan(parent, span);
      return requestTrace(span, (provider, model) => {
        const child = tracer.startSpan(
          `chat ${model}`,
          {
            kind: SpanKind.CLIENT,
            attributes: {
              'gen_ai.operation.name': 'chat',
              'gen_ai.provider.name': provider,
              'gen_ai.request.model': model,
            },
          },
          own,
        );
        const carrier: Record<string, string> = {};
        propagator.inject(trace.setSpan(own, child), carrier, { set: (c, k, v) => (c[k] = v) });
        return attemptTrace(child, carrier.traceparent ?? '');
      });
    },
    shutdown: () => provider.shutdown(),
  };
}

function attemptTrace(span: Span, traceparent: string): AttemptTrace {
  let ended = false;
  return {
    traceparent,
    fail(err) {
      if (ended) return;
      ended = true;
      const status = (err as { status?: unknown } | null)?.status;
      if (typeof status === 'number') span.setAttribute('http.response.status_code', status);
      span.setAttribute('error.type', causeOf(err));
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: err instanceof Error ? err.message.slice(0, 200) : undefined,
      });
      span.end();
    },
    end() {
      if (ended) return;
      ended = true;
      span.end();
    },
  };
}

function requestTrace(span: Span, attempt: (provider: string, model: string) => AttemptTrace): RequestTrace {
  return {
    attempt,
    end(r: RequestRecord) {
      span.updateName(r.requestedModel ? `chat ${r.requestedModel.slice(0, 100)}` : 'chat');
      const attributes: Record<string, string | number | boolean> = {
        'http.route': ROUTES[r.route],
        'http.response.status_code': r.status,
        'parley.request_id': r.requestId,
        'parley.stream': r.stream,
      };
      if (r.requestedModel !== null) attributes['gen_ai.request.model'] = r.requestedModel.slice(0, 256);
      if (r.provider !== null) attributes['gen_ai.provider.name'] = r.provider;
      if (r.upstreamModel !== null) attributes['parley.upstream_model'] = r.upstreamModel.slice(0, 256);
      if (r.promptTokens !== null) attributes['gen_ai.usage.input_tokens'] = r.promptTokens;
      if (r.completionTokens !== null) attributes['gen_ai.usage.output_tokens'] = r.completionTokens;
      if (r.ttftMs !== null) attributes['parley.time_to_first_token_ms'] = r.ttftMs;
      if (r.clientAborted) attributes['parley.client_aborted'] = true;
      if (r.fallback) attributes['parley.fallback_reply'] = true;
      if (r.vapi?.callId) attributes['parley.vapi.call_id'] = r.vapi.callId.slice(0, 256);
      if (r.errorType !== null) attributes['error.type'] = r.errorType.slice(0, 100);
      span.setAttributes(attributes);
      // A server span is an error for 5xx only: a client's 4xx is not the server failing (HTTP conventions).
      if (r.status >= 500 || r.fallback) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
  };
}
