/**
 * One usage record per chat request, whatever its outcome: the shape the persistence
 * layer stores as a RequestLog row, and the one shape of Parley's request bookkeeping — the
 * chat context (pipeline/context.ts) is this record under construction, derived from this
 * type. Prompt and completion text are never part of it.
 */
export interface VapiCallContext {
  callId?: string;
  assistantId?: string;
  customerNumber?: string;
  callType?: string;
  phoneNumberId?: string;
}

export interface RequestRecord {
  requestId: string;
  keyId: string | null;
  route: 'openai' | 'vapi' | 'anthropic';
  requestedModel: string | null;
  provider: string | null;
  upstreamModel: string | null;
  stream: boolean;
  status: number;
  /** OpenAI error type when the request failed (also for errors after the stream started). */
  errorType: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  totalTokens: number | null;
  /** Milliseconds from request start to the first chunk sent (streams only). */
  ttftMs: number | null;
  durationMs: number;
  /** The client left before the response was complete. */
  clientAborted: boolean;
  /** A fallback reply was served after every upstream failed. */
  fallback: boolean;
  vapi: VapiCallContext | null;
  /** What the request cost in micro-dollars (cost/cost.ts); null when its model has no price or nothing was counted. */
  costMicros: number | null;
  createdAt: Date;
}

/** Receives records off the request path: `record` must return at once and never throw. */
export interface UsageSink {
  record(r: RequestRecord): void;
  /** Writes what is buffered (on shutdown). */
  flush(): Promise<void>;
}

/** Keeps nothing: the default before a database is configured (the request log line still has it all). */
export const discardSink: UsageSink = {
  record() {},
  async flush() {},
};
