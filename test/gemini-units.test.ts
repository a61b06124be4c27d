/** The Gemini translation's small pieces on their own: the response reader, usage, Google errors. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UpstreamError } from '../src/providers/errors.js';
import { googleError } from '../src/providers/gemini/errors.js';
import { GeminiReader, usageOf } from '../src/providers/gemini/response.js';

describe('Gemini response reader', () => {
  it('maps every finishReason: content filters, length, the rest stop', () => {
    const cases: [string, string][] = [
      ['STOP', 'stop'],
      ['MAX_TOKENS', 'length'],
      ['SAFETY', 'content_filter'],
      ['RECITATION', 'content_filter'],
      ['BLOCKLIST', 'content_filter'],
      ['PROHIBITED_CONTENT', 'content_filter'],
      ['SPII', 'content_filter'],
      ['IMAGE_SAFETY', 'content_filter'],
      ['MALFORMED_FUNCTION_CALL', 'stop'],
      ['OTHER', 'stop'],
      ['SOMETHING_NEW', 'stop'],
    ];
    for (const [gemini, openai] of cases) {
      const events = new GeminiReader('g').events({ candidates: [{ content: { parts: [] }, finishReason: gemini }] });
      assert.deepEqual(events, [{ type: 'finish', reason: openai }], gemini);
    }
    assert.deepEqual(new GeminiReader('g').events({ candidates: [{ finishReason: 'FINISH_REASON_UNSPECIFIED' }] }), []);
  });

  it('numbers calls across events, keeps Gemini’s own call id when it sends one, drops thoughts and empty text', () => {
    const r = new GeminiReader('g');
    const a = r.events({
      candidates: [
        {
          content: {
            parts: [{ text: 'hm', thought: true }, { text: '' }, { functionCall: { name: 'f', id: 'fc-1' } }],
          },
        },
      ],
    });
    const b = r.events({ candidates: [{ content: { parts: [{ functionCall: { name: 'g', args: { x: 1 } } }] } }] });
    assert.deepEqual(a, [
      { type: 'tool_start', key: 0, id: 'fc-1', name: 'f', extra: undefined },
      { type: 'tool_args', key: 0, delta: '{}' },
    ]);
    assert.equal(b[0]!.type === 'tool_start' && b[0]!.key, 1);
    assert.deepEqual(b[1], { type: 'tool_args', key: 1, delta: '{"x":1}' });
  });

  it('throws Google’s error object sent in place of a response', () => {
    assert.throws(
      () =>
        new GeminiReader('g').events({
          error: { code: 500, message: 'Internal error encountered.', status: 'INTERNAL' },
        }),
      (e: unknown) => e instanceof UpstreamError && e.status === 500 && e.code === 'INTERNAL',
    );
  });
});

describe('Gemini usage', () => {
  it('prompt includes cached and tool-use prompt tokens; completion includes thinking', () => {
    assert.deepEqual(
      usageOf({
        promptTokenCount: 83,
        candidatesTokenCount: 14,
        thoughtsTokenCount: 104,
        cachedContentTokenCount: 40,
        toolUsePromptTokenCount: 7,
        totalTokenCount: 208,
      }),
      {
        prompt_tokens: 90,
        completion_tokens: 118,
        total_tokens: 208,
        prompt_tokens_details: { cached_tokens: 40 },
        completion_tokens_details: { reasoning_tokens: 104 },
      },
    );
    assert.deepEqual(usageOf({}), { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
  });
});

describe('Google errors', () => {
  it('keep their status and code; a 429 RetryInfo becomes retry-after; key refusals become 502 without the message', () => {
    const rate = googleError(
      {
        code: 429,
        message: 'Quota exceeded',
        status: 'RESOURCE_EXHAUSTED',
        details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2.5s' }],
      },
      'g',
    );
    assert.equal(rate.status, 429);
    assert.equal(rate.type, 'rate_limit_error');
    assert.deepEqual(rate.headers, { 'retry-after': '3' });
    assert.ok(rate.retryable);
    const bad = googleError({ code: 400, message: 'Bad', status: 'INVALID_ARGUMENT' }, 'g');
    assert.equal(bad.status, 400);
    assert.equal(bad.retryable, false);
    const key = googleError(
      {
        code: 400,
        message: 'API key not valid: AIzaSyLEAK',
        status: 'INVALID_ARGUMENT',
        details: [{ reason: 'API_KEY_INVALID' }],
      },
      'g',
    );
    assert.equal(key.status, 502);
    assert.equal(key.code, 'upstream_auth_failed');
    assert.doesNotMatch(key.toJson(), /AIzaSyLEAK/);
    assert.equal(googleError({ message: 'no code' }, 'g').status, 502);
  });
});
