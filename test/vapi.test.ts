/** Parley as a Vapi Custom LLM: Vapi's requests in, what a live call needs out, Vapi's fields never upstream. */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import * as vapi from './fixtures/vapi.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { memorySink, postJson, sseEvents, startParley, type TestParley } from './helpers/parley.js';
import { needs } from './helpers/prerequisites.js';
import { checkStream, contentOf } from './helpers/stream-checks.js';
import { assertVapi, HAVE_VAPI_SPEC, NO_VAPI_SPEC_REASON } from './helpers/vapi-spec.js';

const KEY = 'vapi-credential-secret';
// Vapi's OpenAI client sends Accept: application/json even when it streams.
const headers = { authorization: `Bearer ${KEY}`, accept: 'application/json', 'user-agent': 'OpenAI/JS 4.0.0' };

/** What OpenAI must receive for the fixtures: every OpenAI field, none of Vapi's, messages cleaned of Vapi extras. */
const expectedUpstream = {
  ...vapi.openaiPart,
  messages: vapi.messages.map((m) => {
    const { metadata: _m, ...rest } = m as Record<string, unknown>;
    if (rest.role === 'tool') delete rest.name;
    return rest;
  }),
  stream_options: { include_usage: true },
};

describe('Vapi Custom LLM', () => {
  let up: MockUpstream;
  let p: TestParley;
  const sink = memorySink();
  before(async () => {
    up = await startMockUpstream();
    p = await startParley(
      { PARLEY_API_KEYS: KEY, OPENAI_API_KEY: 'sk-up', OPENAI_BASE_URL: up.url },
      {
        providers: {
          offline: { type: 'builtin' },
          dead: { type: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1' },
        },
        models: {
          'vapi-offline': { provider: 'offline', model: 'parley-offline' },
          'voice-with-fallback': {
            targets: [
              { provider: 'dead', model: 'gpt-4o' },
              { provider: 'openai', model: 'broken' },
            ],
            fallbackReply: 'Sorry, I am having trouble right now. Please hold on.',
          },
          'voice-no-fallback': { provider: 'dead', model: 'gpt-4o' },
        },
      },
      {},
      sink,
    );
  });
  after(async () => {
    await p.close();
    await up.close();
  });
  afterEach(() => {
    up.received.length = 0;
    sink.records.length = 0;
    up.scenarios.clear();
    up.scenarios.set('*', { kind: 'text' });
  });

  it("uses fixtures that are valid against Vapi's own schemas", {
    skip: needs("Vapi's OpenAPI schemas", HAVE_VAPI_SPEC ? null : NO_VAPI_SPEC_REASON),
  }, () => {
    assertVapi('Call', vapi.call);
    assertVapi('TwilioPhoneNumber', vapi.phoneNumber);
    assertVapi('CreateCustomerDTO', vapi.customer);
    assertVapi('AssistantMessage', vapi.messages[3]);
    assertVapi('ToolMessage', vapi.messages[4]);
  });

  for (const path of ['/chat/completions', '/v1/chat/completions']) {
    for (const [mode, request] of [
      ['variable', vapi.variableRequest],
      ['destructured', vapi.destructuredRequest],
    ] as const) {
      it(`${path}, metadata ${mode}: streams despite Accept: application/json, and sends upstream every OpenAI field and no Vapi field`, async () => {
        const res = await postJson(`${p.url}${path}`, request, headers);
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
        const chunks = checkStream(await sseEvents(res));
        assert.ok(
          chunks.every((c) => Array.isArray(c.choices)),
          'every chunk carries a choices array',
        );
        assert.equal(contentOf(chunks), 'Hello from the mock upstream.');
        const sent = up.received[0]!.body;
        for (const field of vapi.vapiOnlyFields)
          assert.equal(field in sent, false, `${field} must not reach the upstream`);
        assert.deepEqual(sent, expectedUpstream);
        const rec = sink.records[0]!;
        assert.equal(rec.route, 'vapi');
        assert.deepEqual(rec.vapi, {
          callId: vapi.call.id,
          assistantId: vapi.call.assistantId,
          customerNumber: '+14155550123',
          callType: 'inboundPhoneCall',
          phoneNumberId: 'pn_2b4d6f8a',
        });
        assert.deepEqual(
          [rec.promptTokens, rec.completionTokens, rec.totalTokens],
          [11, 7, 18],
          'usage counted from the chunk Parley asked for',
        );
      });
    }
  }

  it('answers JSON when stream is false', async () => {
    const res = await postJson(`${p.url}/chat/completions`, { ...vapi.variableRequest, stream: false }, headers);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).object, 'chat.completion');
  });

  it('refuses Vapi\'s "no-custom-llm-key-provided" placeholder and a missing credential', async () => {
    for (const authorization of ['Bearer no-custom-llm-key-provided', '']) {
      const res = await postJson(`${p.url}/chat/completions`, vapi.variableRequest, { ...headers, authorization });
      assert.equal(res.status, 401);
      assert.equal((await res.json()).error.type, 'authentication_error');
    }
    assert.equal(up.received.length, 0);
  });

  it('says that Vapi sent no credential, and how to create one', async () => {
    const res = await postJson(`${p.url}/chat/completions`, vapi.variableRequest, {
      ...headers,
      authorization: 'Bearer no-custom-llm-key-provided',
    });
    assertVapiNoCredential(res.status, await res.json());
  });

  it('streams a forced tool call as tool_calls deltas, then finish_reason "tool_calls"', async () => {
    const res = await postJson(
      `${p.url}/chat/completions`,
      {
        ...vapi.variableRequest,
        model: 'vapi-offline',
        tool_choice: { type: 'function', function: { name: 'book_table' } },
      },
      headers,
    );
    const chunks = checkStream(await sseEvents(res));
    const calls = chunks.flatMap((c) =>
      c.choices.flatMap((ch) => (ch.delta.tool_calls as { function: { name?: string; arguments?: string } }[]) ?? []),
    );
    assert.equal(calls[0]!.function.name, 'book_table');
    const args = JSON.parse(calls.map((c) => c.function.arguments ?? '').join(''));
    assert.equal(typeof args.date, 'string');
    assert.ok(Number.isInteger(args.people) && args.people >= 1);
    assert.equal(chunks.flatMap((c) => c.choices).at(-1)!.finish_reason, 'tool_calls');
  });

  it('answers an upstream failure before the first byte with its HTTP status and the envelope', async () => {
    up.scenarios.set('*', { kind: 'error', status: 500 });
    const res = await postJson(`${p.url}/chat/completions`, vapi.variableRequest, headers);
    assert.equal(res.status, 500);
    assert.equal((await res.json()).error.message, 'mock upstream error 500');
    const unreachable = await postJson(
      `${p.url}/chat/completions`,
      { ...vapi.variableRequest, model: 'voice-no-fallback' },
      headers,
    );
    assert.equal(unreachable.status, 502);
    assert.equal(sink.records.at(-1)!.status, 502);
    assert.equal(sink.records.at(-1)!.vapi?.callId, vapi.call.id);
  });

  it('ends with one error event when the upstream fails during the stream', async () => {
    up.scenarios.set('*', { kind: 'broken', afterChunks: 2 });
    const events = await sseEvents(await postJson(`${p.url}/chat/completions`, vapi.variableRequest, headers));
    assert.equal(events.length, 3);
    assert.equal(JSON.parse(events[2]!).error.code, 'upstream_unreachable');
    assert.equal(sink.records[0]!.errorType, 'upstream_error');
  });

  it('speaks the fallback reply when every upstream fails before the first token, and records a failure', async () => {
    up.scenarios.set('broken', { kind: 'error', status: 503 });
    const res = await postJson(
      `${p.url}/chat/completions`,
      { ...vapi.variableRequest, model: 'voice-with-fallback' },
      headers,
    );
    assert.equal(res.status, 200);
    const chunks = checkStream(await sseEvents(res));
    assert.equal(contentOf(chunks), 'Sorry, I am having trouble right now. Please hold on.');
    assert.deepEqual(
      up.received.map((r) => r.body.model),
      ['broken'],
      'both targets were tried',
    );
    const rec = sink.records[0]!;
    assert.equal(rec.fallback, true);
    assert.ok(rec.errorType, 'recorded as a failure');
  });

  it("works with the official openai SDK whose baseURL is Parley's root, as Vapi's client is", async () => {
    const client = new OpenAI({ baseURL: p.url, apiKey: KEY, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(text, 'Hello from the mock upstream.');
    assert.equal(up.received[0]!.url, '/v1/chat/completions');
  });
});

describe('upstream field policy', () => {
  it("is configurable: passthrough forwards unknown fields (never Vapi's own), allowlist drops them except a provider's extraParams", async () => {
    const up = await startMockUpstream();
    try {
      let p = await startParley({
        OPENAI_API_KEY: 'k',
        OPENAI_BASE_URL: up.url,
        PARLEY_UPSTREAM_FIELDS: 'passthrough',
      });
      await postJson(`${p.url}/chat/completions`, vapi.destructuredRequest);
      assert.equal(up.received[0]!.body.tenant, 'bistro-42', 'destructured metadata passes through');
      assert.equal('call' in up.received[0]!.body, false, "Vapi's own fields never do");
      await p.close();

      p = await startParley(
        { PARLEY_UPSTREAM_FIELDS: 'allowlist' },
        {
          providers: { vllm: { type: 'openai-compatible', baseUrl: up.url, extraParams: ['top_k'] } },
          defaultProvider: 'vllm',
        },
      );
      await postJson(`${p.url}/v1/chat/completions`, {
        model: 'm',
        messages: [{ role: 'user', content: 'x' }],
        top_k: 5,
        unknown_thing: 1,
      });
      assert.equal(up.received[1]!.body.top_k, 5);
      assert.equal('unknown_thing' in up.received[1]!.body, false);
      await p.close();
    } finally {
      await up.close();
    }
  });
});

/** The refusal of Vapi's placeholder: a 401 whose message names the cause and the fix in Vapi. */
function assertVapiNoCredential(
  status: number,
  json: { error: { type: string; code: string; message: string } },
): void {
  assert.equal(status, 401);
  assert.equal(json.error.type, 'authentication_error');
  assert.equal(json.error.code, 'vapi_no_credential');
  assert.match(json.error.message, /Vapi sent no credential/);
  assert.match(json.error.message, /Provider Credentials → Custom LLM/);
  assert.match(json.error.message, /POST https:\/\/api\.vapi\.ai\/credential/);
  assert.match(json.error.message, /"provider": "custom-llm"/);
}

describe("Vapi's placeholder credential when Parley runs open (no key configured)", () => {
  let p: TestParley;
  before(async () => {
    p = await startParley();
  });
  after(() => p.close());

  it('is refused all the same, with the same explanation', async () => {
    const res = await postJson(`${p.url}/chat/completions`, vapi.variableRequest, {
      ...headers,
      authorization: 'Bearer no-custom-llm-key-provided',
    });
    assertVapiNoCredential(res.status, await res.json());
    // Without it, the same local request is answered.
    assert.equal(
      (
        await postJson(
          `${p.url}/chat/completions`,
          { ...vapi.variableRequest, model: 'default' },
          { accept: 'application/json' },
        )
      ).status,
      200,
    );
  });
});
