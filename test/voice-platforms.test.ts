/** Every voice platform on /chat/completions: each one's documented payload in, OpenAI's body upstream, the platform on the record. */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { SettingsError } from '../src/config/env.js';
import { parseFileConfig } from '../src/config/file.js';
import * as vapi from './fixtures/vapi.js';
import { elevenlabsRequest, elevenlabsSystemTools, pipecatRequest } from './fixtures/voice-platforms.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { memorySink, postJson, sseEvents, startParley, type TestParley } from './helpers/parley.js';
import { checkStream, contentOf } from './helpers/stream-checks.js';

const KEY = 'voice-platform-key';
const auth = { authorization: `Bearer ${KEY}` };

/** An SSE body as an upstream that repeats a tool call's id and name in every delta, and never sends a finish_reason. */
function sloppyToolStream(model: string): string {
  const base = { id: 'chatcmpl-sloppy', object: 'chat.completion.chunk', created: 1_700_000_000, model };
  const delta = (d: unknown) =>
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: d, finish_reason: null }] })}\n\n`;
  const call = (args: string) => ({
    tool_calls: [{ index: 0, id: 'call_x', type: 'function', function: { name: 'end_call', arguments: args } }],
  });
  return [
    delta({ role: 'assistant', content: null }),
    delta(call('')),
    delta(call('{"reason":')),
    delta(call('"done"}')),
    'data: [DONE]\n\n',
  ].join('');
}

describe('voice platforms on /chat/completions', () => {
  let up: MockUpstream;
  let p: TestParley;
  const sink = memorySink();
  before(async () => {
    up = await startMockUpstream();
    p = await startParley(
      { PARLEY_API_KEYS: KEY, OPENAI_API_KEY: 'sk-up', OPENAI_BASE_URL: up.url },
      { models: { 'fish-agent': { provider: 'openai', model: 'gpt-4o-mini', platform: 'fish' } } },
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

  it('ElevenLabs: user_id becomes user, elevenlabs_extra_body stays home, its system tools reach the model as ordinary tools', async () => {
    const res = await postJson(`${p.url}/v1/chat/completions`, elevenlabsRequest, auth);
    assert.equal(res.status, 200);
    assert.equal(contentOf(checkStream(await sseEvents(res))), 'Hello from the mock upstream.');
    const sent = up.received[0]!.body;
    assert.equal(sent.user, 'conv_user_8f3a');
    assert.equal('user_id' in sent, false);
    assert.equal('elevenlabs_extra_body' in sent, false);
    assert.deepEqual(sent.tools, elevenlabsSystemTools);
    assert.equal(sent.tool_choice, 'auto');
    assert.deepEqual(
      sent.messages,
      elevenlabsRequest.messages,
      'an assistant turn with content null and tool_calls passes',
    );
    assert.equal(sink.records[0]!.platform, 'elevenlabs');
    assert.equal(sink.records[0]!.route, 'openai');
  });

  it('ElevenLabs: a system tool the model calls streams back as a tool call', async () => {
    up.scenarios.set('*', { kind: 'tool', name: 'end_call', args: '{"reason":"goodbye"}' });
    const chunks = checkStream(await sseEvents(await postJson(`${p.url}/chat/completions`, elevenlabsRequest, auth)));
    const calls = chunks.flatMap((c) =>
      c.choices.flatMap((ch) => (ch.delta.tool_calls as { function: { name?: string } }[]) ?? []),
    );
    assert.equal(calls[0]!.function.name, 'end_call');
    assert.equal(chunks.flatMap((c) => c.choices).at(-1)!.finish_reason, 'tool_calls');
  });

  it('Pipecat: both token limits become one (OpenAI refuses both), service_tier goes upstream, the usage chunk comes back last', async () => {
    const res = await postJson(`${p.url}/v1/chat/completions`, pipecatRequest, {
      ...auth,
      'user-agent': 'pipecat/0.0.90 AsyncOpenAI/Python 1.99.0',
    });
    assert.equal(res.status, 200, 'the mock refuses both limits, as api.openai.com does');
    const chunks = checkStream(await sseEvents(res), { includeUsage: true });
    assert.deepEqual(chunks.at(-1)!.usage, { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
    const sent = up.received[0]!.body;
    assert.equal('max_tokens' in sent, false);
    assert.equal(sent.max_completion_tokens, 150, 'the tighter of the two');
    assert.equal(sent.service_tier, 'default');
    assert.deepEqual(sent.stream_options, { include_usage: true });
    assert.equal(sink.records[0]!.platform, 'pipecat');
    assert.equal(sink.records[0]!.completionTokens, 7);
  });

  it('the same normalisation helps any client: both limits from a plain SDK are answered, not refused', async () => {
    const res = await postJson(
      `${p.url}/v1/chat/completions`,
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20, max_completion_tokens: 40 },
      auth,
    );
    assert.equal(res.status, 200);
    assert.equal(up.received[0]!.body.max_completion_tokens, 20);
    assert.equal(sink.records[0]!.platform, null, 'no platform for an ordinary client');
  });

  it('LiveKit: a tool call whose name and id the upstream repeats arrives with them in its first delta only, and the stream gets its finish_reason', async () => {
    up.scenarios.set('*', { kind: 'raw', contentType: 'text/event-stream', body: sloppyToolStream('gpt-4o-mini') });
    const res = await postJson(
      `${p.url}/v1/chat/completions`,
      { ...pipecatRequest, max_tokens: undefined, tools: elevenlabsSystemTools.slice(0, 1) },
      { ...auth, 'user-agent': 'livekit-agents/1.2 AsyncOpenAI/Python 1.99.0' },
    );
    const chunks = checkStream(await sseEvents(res));
    const deltas = chunks.flatMap((c) =>
      c.choices.flatMap(
        (ch) => (ch.delta.tool_calls as { id?: string; function: { name?: string; arguments?: string } }[]) ?? [],
      ),
    );
    assert.equal(deltas.length, 3);
    assert.equal(deltas[0]!.function.name, 'end_call');
    assert.equal(deltas[0]!.id, 'call_x');
    for (const d of deltas.slice(1)) {
      assert.equal(d.function.name, undefined, 'no repeated name: LiveKit would restart the call');
      assert.equal(d.id, undefined);
    }
    assert.equal(deltas.map((d) => d.function.arguments).join(''), '{"reason":"done"}');
    assert.equal(chunks.flatMap((c) => c.choices).at(-1)!.finish_reason, 'tool_calls');
    assert.equal(sink.records[0]!.platform, 'livekit');
  });

  it('a text stream that ends without a finish_reason gets "stop", before the usage chunk', async () => {
    const base = { id: 'chatcmpl-nofinish', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'm' };
    const body = [
      { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }] },
      { ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } },
    ]
      .map((c) => `data: ${JSON.stringify(c)}\n\n`)
      .join('');
    up.scenarios.set('*', { kind: 'raw', contentType: 'text/event-stream', body: `${body}data: [DONE]\n\n` });
    const res = await postJson(`${p.url}/v1/chat/completions`, pipecatRequest, auth);
    const chunks = checkStream(await sseEvents(res), { includeUsage: true });
    assert.equal(chunks.at(-2)!.choices[0]!.finish_reason, 'stop');
    assert.equal(chunks.at(-2)!.id, 'chatcmpl-nofinish');
  });

  it("Cartesia, Fish Audio: recognised by User-Agent; an alias's platform: names it otherwise", async () => {
    const body = { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] };
    await (await postJson(`${p.url}/chat/completions`, body, { ...auth, 'user-agent': 'Cartesia-Agents/1.0' })).text();
    await (await postJson(`${p.url}/chat/completions`, { ...body, model: 'fish-agent' }, auth)).text();
    assert.deepEqual(
      sink.records.map((r) => r.platform),
      ['cartesia', 'fish'],
    );
  });

  it('Vapi: recorded as platform vapi with the call id', async () => {
    await (await postJson(`${p.url}/chat/completions`, vapi.variableRequest, auth)).text();
    const rec = sink.records[0]!;
    assert.equal(rec.platform, 'vapi');
    assert.equal(rec.callId, vapi.call.id);
    assert.equal(rec.route, 'vapi');
  });
});

describe("Vapi's message-level metadata", () => {
  it('is taken off every message, also when every other field passes through', async () => {
    const up = await startMockUpstream();
    const p = await startParley({
      OPENAI_API_KEY: 'k',
      OPENAI_BASE_URL: up.url,
      PARLEY_UPSTREAM_FIELDS: 'passthrough',
    });
    try {
      const messages = [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: 'Book me a table',
          metadata: { wordLevelConfidence: [{ word: 'book', confidence: 0.98 }] },
        },
      ];
      const res = await postJson(`${p.url}/chat/completions`, { ...vapi.variableRequest, messages });
      assert.equal(res.status, 200);
      await res.text();
      const sent = up.received[0]!.body.messages as Record<string, unknown>[];
      assert.deepEqual(sent, [messages[0], { role: 'user', content: 'Book me a table' }]);
    } finally {
      await p.close();
      await up.close();
    }
  });
});

describe("an alias's platform: setting", () => {
  it('takes a short lowercase name, on a single-target alias and on a targets list', () => {
    const cfg = parseFileConfig(
      JSON.stringify({
        models: {
          a: { provider: 'builtin', model: 'x', platform: 'livekit' },
          b: { targets: [{ provider: 'builtin', model: 'x' }], platform: 'my-voice.platform_2' },
        },
      }),
      'parley.json',
    );
    assert.equal((cfg.models!.a as { platform?: string }).platform, 'livekit');
  });

  it('stops Parley with the field named when it is not one', () => {
    assert.throws(
      () =>
        parseFileConfig(
          JSON.stringify({ models: { a: { provider: 'builtin', model: 'x', platform: 'Live Kit' } } }),
          'parley.json',
        ),
      (e: unknown) => e instanceof SettingsError && /platform/.test(e.message),
    );
  });
});
