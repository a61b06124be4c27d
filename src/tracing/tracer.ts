/**
 * OpenTelemetry traces, off by default. With OTEL_EXPORTER_OTLP_ENDPOINT set, each chat
 * request is one server span with the GenAI semantic-convention attributes, each upstream
 * attempt a child client span, an incoming W3C `traceparent` is the request span's parent, and
 * each attempt's own `traceparent` goes upstream (./otel.ts).
 *
 * This file is the interface the rest of Parley uses and imports nothing from OpenTelemetry:
 * the SDK is loaded (a dynamic import of ./otel.ts) only when tracing is on.
 */
import type { Settings } from '../config/env.js';
import type { RequestRecord } from '../usage/record.js';

/** One upstream attempt's span. */
export interface AttemptTrace {
  /** The W3C traceparent naming this span, for the upstream request's headers. */
  readonly traceparent: string;
  /** The attempt failed before its answer began. */
  fail(err: unknown): void;
  /** The attempt's answer began (JSON received, or the stream's first event). */
  end(): void;
}

/** One chat request's span. */
export interface RequestTrace {
  attempt(provider: string, upstreamModel: string): AttemptTrace;
  /** The request ended: its record gives the span's attributes and status. */
  end(record: RequestRecord): void;
}

export interface Tracer {
  /** `traceparent`: the request's header, if any (a malformed one is ignored: a new trace starts). */
  start(traceparent: string | string[] | undefined): RequestTrace;
  /** Exports the spans still buffered (shutdown). */
  shutdown(): Promise<void>;
}

/** A tracer when OTEL_EXPORTER_OTLP_ENDPOINT is set; undefined (nothing loaded) otherwise. */
export async function startTracing(settings: Pick<Settings, 'otlpEndpoint' | 'otelServiceName'>) {
  if (!settings.otlpEndpoint) return undefined;
  const { otelTracer } = await import('./otel.js');
  return otelTracer(settings.otlpEndpoint, settings.otelServiceName);
}
