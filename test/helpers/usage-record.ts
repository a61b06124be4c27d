/** A complete usage record for tests of the usage writers, with the fields a test cares about overridden. */
import type { RequestRecord } from '../../src/usage/record.js';

export function sampleRecord(requestId: string, over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    requestId,
    keyId: null,
    route: 'openai',
    requestedModel: 'default',
    provider: 'builtin',
    upstreamModel: null,
    stream: false,
    status: 200,
    errorType: null,
    promptTokens: 1,
    completionTokens: 1,
    totalTokens: 2,
    ttftMs: null,
    durationMs: 1,
    clientAborted: false,
    fallback: false,
    vapi: null,
    attempts: null,
    usageEstimated: false,
    platform: null,
    callId: null,
    replayOf: null,
    costMicros: null,
    createdAt: new Date('2026-11-22T08:00:00.123Z'),
    ...over,
  };
}
