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

/** One upstream attempt of a request: a target tried (in order, or in parallel when hedged). */
export interface AttemptRecord {
  provider: string;
  model: string;
  /**
   * `answered`: its answer went to the client; `failed`: the upstream failed or refused (see
   * `status`/`code`); `timeout`: no first token within the alias's firstTokenTimeoutMs;
   * `lost`: a hedged attempt stopped because another target answered first; `cancelled`: the
   * client left (or another attempt's refusal ended the request) while it ran.
   */
  outcome: 'answered' | 'failed' | 'timeout' | 'lost' | 'cancelled';
  /** The failure's HTTP status and code (failed, timeout). */
  status?: number;
  code?: string | null;
  /** When it started, in ms from the request's arrival, and how long it ran until its outcome. */
  startMs: number;
  ms: number;
}

export interface RequestRecord {
  requestId: string;
  keyId: string | null;
  /** Which door the request came in by: /v1/chat/completions, /chat/completions (or a Vapi body), /v1/messages, /v1/responses, Retell's WebSocket. */
  route: 'openai' | 'vapi' | 'anthropic' | 'responses' | 'retell';
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
  /** The upstream attempts made, in start order (null: the request never reached a target). */
  attempts: AttemptRecord[] | null;
  /**
   * The token counts are Parley's own (usage/estimate.ts): the stream ended before the
   * upstream reported usage (caller barge-in, upstream cut, deadline, shutdown), or it never did.
   */
  usageEstimated: boolean;
  /** The voice platform that sent it (vapi, elevenlabs, cartesia, fish, livekit, pipecat, retell, or an alias's `platform:`). */
  platform: string | null;
  /** The voice platform's id for the call (Vapi's call.id, Retell's call_id). */
  callId: string | null;
  /** Answered from an earlier request's result (same Idempotency-Key): that request's id. No upstream tokens were spent. */
  replayOf: string | null;
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
