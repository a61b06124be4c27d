/**
 * Gemini among Parley's other providers: `gemini-*` names routed by GEMINI_API_KEY alone, an
 * alias mixing families with fallback, the usage record, the Vapi route, and the thought
 * signature round trip — across two Parley instances, since nothing is kept between turns.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { readSettings, SettingsError } from '../src/config/env.js';
import { parseFileConfig } from '../src/config/file.js';
import * as vapi from './fixtures/vapi.js';
import { type MockGemini, startMockGemini, text, usage } from './helpers/mock-gemini.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { memorySink, postJson, sseEvents, startParley, type TestParley } from './helpers/parley.js';
import { checkStream, contentOf } from './helpers/stream-checks.js';

const KEY = 'sk-gemini-routing';
const headers = { authorization: `Bearer ${KEY}` };
const messages = [{ role: 'user' as const, content: 'What time is it?' }];

describe('Gemini routing, usage and Vapi', () => {
  let g: MockGemini;
  let up: MockUpstream;
  let p: TestParley;
  const sink = memorySink();
  before(async () => {
    g = await startMockGemini();
    up = await startMockUpstream();
    g.scenarios.set('gemini-2.5-flash', {
      kind: 'events',
      events: [
        { ...text('It is '), usageMetadata: usage(11, 2) },
        { ...text('noon.', { finishReason: 'STOP' }), usageMetadata: usage(11, 3, { thoughtsTokenCount: 5 }) },
      ],
    });
    g.scenarios.set('gemini-down', { kind: 'error', status: 503, googleStatus: 'UNAVAILABLE' });
    p = await startParley(
      {
        PARLEY_API_KEYS: KEY,
        GEMINI_API_KEY: g.apiKey,
        GEMINI_BASE_URL: g.url,
        OPENAI_API_KEY: 'sk-up',
        OPENAI_BASE_URL: up.url,
      },
      {
        providers: {
          offline: { type: 'builtin' },
          dead: { type: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1' },
        },
        models: {
          voice: {
            targets: [
              { provider: 'dead', model: 'gpt-4o' },
              { provider: 'gemini', model: 'gemini-down' },
              { provider: 'gemini', model: 'gemini-2.5-flash' },
              { provider: 'openai', model: 'gpt-4o-mini' },
            ],
          },
          'gemini-then-openai': {
            targets: [
              { provider: 'gemini', model: 'gemini-down' },
              { provider: 'openai', model: 'gpt-4o-mini' },
            ],
          },
          'gemini-pinned': { provider: 'offline', model: 'parley-offline' },
        },
      },
      {},
      sink,
    );
  });
  after(async () => {
    await p.close();
    await up.close();
    await g.close();
  });

  it('GEMINI_API_KEY alone makes gemini-* names route to Gemini; other names still go to the default provider', async () => {
    const before = { g: g.received.length, up: up.received.length };
    const a = await postJson(`${p.url}/v1/chat/completions`, { model: 'gemini-2.5-flash', messages }, headers);
    assert.equal(a.status, 200);
    assert.equal(
      ((await a.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content,
      'It is noon.',
    );
    const b = await postJson(`${p.url}/v1/chat/completions`, { model: 'gpt-4o-mini', messages }, headers);
    assert.equal(b.status, 200);
    assert.equal(g.received.length, before.g + 1);
    assert.equal(up.received.length, before.up + 1);
    assert.equal(g.received.at(-1)!.model, 'gemini-2.5-flash');
  });

  it('an alias named like a Gemini model wins over the prefix', async () => {
    const before = g.received.length;
    const res = await postJson(`${p.url}/v1/chat/completions`, { model: 'gemini-pinned', messages }, headers);
    assert.equal(res.status, 200);
    assert.equal(g.received.length, before);
  });

  it('PARLEY_CONFIG: a gemini provider needs no baseUrl; `type: google` and a misspelt field get the fix', () => {
    const ok = parseFileConfig('providers:\n  g: { type: gemini, apiKey: k }', 'parley.yaml', {});
    assert.deepEqual(ok.providers?.g, { type: 'gemini', apiKey: 'k' });
    const problem = (yaml: string) => {
      try {
        parseFileConfig(yaml, 'parley.yaml', {});
      } catch (err) {
        assert.ok(err instanceof SettingsError);
        return err.message;
      }
      return assert.fail('accepted');
    };
    assert.match(problem('providers:\n  g: { type: google, apiKey: k }'), /did you mean type: gemini\?/);
    assert.match(
      problem('providers:\n  g: { type: gemini, api_key: k }'),
      /unknown field "api_key" — did you mean apiKey\?/,
    );
  });

  it('GOOGLE_API_KEY works as GEMINI_API_KEY; GEMINI_BASE_URL is checked at startup', () => {
    assert.equal(readSettings({ GOOGLE_API_KEY: 'g' }).geminiApiKey, 'g');
    assert.equal(readSettings({ GOOGLE_API_KEY: 'g', GEMINI_API_KEY: 'x' }).geminiApiKey, 'x');
    assert.equal(readSettings({}).geminiBaseUrl, 'https://generativelanguage.googleapis.com');
    assert.throws(
      () => readSettings({ GEMINI_BASE_URL: 'generativelanguage.googleapis.com' }),
      /GEMINI_BASE_URL .*has no scheme/,
    );
  });

  it('an alias mixing families falls over from OpenAI-compatible to Gemini (down, then up), streamed; the usage record names Gemini', async () => {
    const res = await postJson(
      `${p.url}/v1/chat/completions`,
      { model: 'voice', messages, stream: true, stream_options: { include_usage: true } },
      headers,
    );
    assert.equal(res.status, 200);
    const chunks = checkStream(await sseEvents(res), { includeUsage: true });
    assert.equal(contentOf(chunks), 'It is noon.');
    const rec = await waitForRecord(sink.records, (r) => r.requestedModel === 'voice');
    assert.equal(rec.provider, 'gemini');
    assert.equal(rec.upstreamModel, 'gemini-2.5-flash');
    assert.equal(rec.status, 200);
    assert.deepEqual([rec.promptTokens, rec.completionTokens, rec.totalTokens], [11, 8, 19]);
  });

  it('Gemini failing falls over to OpenAI', async () => {
    const res = await postJson(`${p.url}/v1/chat/completions`, { model: 'gemini-then-openai', messages }, headers);
    assert.equal(res.status, 200);
    const rec = await waitForRecord(sink.records, (r) => r.requestedModel === 'gemini-then-openai');
    assert.equal(rec.provider, 'openai');
  });

  it('the Vapi route through Gemini: Vapi fields never reach Gemini, the tool round trip is translated, the stream is whole', async () => {
    const res = await postJson(
      `${p.url}/chat/completions`,
      { ...vapi.variableRequest, model: 'gemini-2.5-flash' },
      { ...headers, accept: 'application/json' },
    );
    assert.equal(res.status, 200);
    const chunks = checkStream(await sseEvents(res));
    assert.equal(contentOf(chunks), 'It is noon.');
    const body = g.received.at(-1)!.body as {
      systemInstruction: unknown;
      contents: { role: string; parts: Record<string, unknown>[] }[];
      generationConfig: unknown;
    };
    assert.deepEqual(body.systemInstruction, { parts: [{ text: vapi.messages[0]!.content }] });
    assert.deepEqual(
      body.contents.map((c) => c.role),
      ['model', 'user', 'model', 'user'],
    );
    assert.deepEqual(body.contents[3]!.parts[0], {
      functionResponse: { name: 'book_table', response: { booked: true, time: '19:30' } },
    });
    assert.deepEqual(body.generationConfig, { maxOutputTokens: 250, temperature: 0.5 });
    const sent = JSON.stringify(body);
    for (const f of ['bistro-42', vapi.customer.number, 'vapiTurn']) assert.ok(!sent.includes(f), `${f} not sent`);
    const rec = await waitForRecord(sink.records, (r) => r.route === 'vapi');
    assert.equal(rec.provider, 'gemini');
  });
});

describe('Gemini thought signatures', () => {
  it('round-trip through the client across two Parley instances (stateless), restored on the functionCall part', async () => {
    const g = await startMockGemini();
    const model = 'gemini-3-pro-preview';
    const env = { PARLEY_API_KEYS: KEY, GEMINI_API_KEY: g.apiKey, GEMINI_BASE_URL: g.url };
    const first = await startParley(env);
    const second = await startParley(env);
    try {
      const signature = `sig-${Math.random().toString(36).slice(2)}`;
      g.scenarios.set(model, {
        kind: 'events',
        events: [
          {
            candidates: [
              {
                content: {
                  role: 'model',
                  parts: [
                    { functionCall: { name: 'now', args: {} }, thoughtSignature: signature },
                    { functionCall: { name: 'now', args: { tz: 'UTC' } } },
                  ],
                },
                finishReason: 'STOP',
              },
            ],
            usageMetadata: usage(5, 5),
          },
        ],
      });
      const tools = [
        {
          type: 'function' as const,
          function: { name: 'now', parameters: { type: 'object', properties: { tz: { type: 'string' } } } },
        },
      ];
      const c1 = new OpenAI({ baseURL: `${first.url}/v1`, apiKey: KEY, maxRetries: 0 });
      const turn1 = await c1.chat.completions.stream({ model, messages, tools }).finalChatCompletion();
      const assistant = turn1.choices[0]!.message;
      assert.deepEqual((assistant.tool_calls![0] as unknown as { extra_content: unknown }).extra_content, {
        google: { thought_signature: signature },
      });
      // The next turn goes to another instance, with the assistant message exactly as the SDK assembled it.
      g.scenarios.set(model, { kind: 'events', events: [text('It is noon.', { finishReason: 'STOP' })] });
      const c2 = new OpenAI({ baseURL: `${second.url}/v1`, apiKey: KEY, maxRetries: 0 });
      const turn2 = await c2.chat.completions.create({
        model,
        tools,
        messages: [
          ...messages,
          assistant as OpenAI.Chat.Completions.ChatCompletionAssistantMessageParam,
          ...assistant.tool_calls!.map((tc) => ({ role: 'tool' as const, tool_call_id: tc.id, content: '12:00' })),
        ],
      });
      assert.equal(turn2.choices[0]!.message.content, 'It is noon.');
      const parts = (g.received.at(-1)!.body as { contents: { role: string; parts: Record<string, unknown>[] }[] })
        .contents[1]!.parts;
      assert.deepEqual(parts, [
        { functionCall: { name: 'now', args: {} }, thoughtSignature: signature },
        { functionCall: { name: 'now', args: { tz: 'UTC' } } },
      ]);

      // The same history with the signature dropped by the client: Gemini 3 would refuse it, so
      // Parley sends Google's documented validator skip instead.
      const stripped = {
        ...assistant,
        tool_calls: assistant.tool_calls!.map(({ id, type, function: f }) => ({ id, type, function: f })),
      };
      const turn2b = await c2.chat.completions.create({
        model,
        tools,
        messages: [
          ...messages,
          stripped as OpenAI.Chat.Completions.ChatCompletionAssistantMessageParam,
          ...assistant.tool_calls!.map((tc) => ({ role: 'tool' as const, tool_call_id: tc.id, content: '12:00' })),
        ],
      });
      assert.equal(turn2b.choices[0]!.message.content, 'It is noon.');
    } finally {
      await first.close();
      await second.close();
      await g.close();
    }
  });

  it('the mock refuses what the real API refuses, so the translation is tested against it', async () => {
    const g = await startMockGemini();
    const user = { role: 'user', parts: [{ text: 'hi' }] };
    const bad: [string, Record<string, unknown>][] = [
      ['no contents', { contents: [] }],
      ['an empty turn', { contents: [{ role: 'user', parts: [] }] }],
      ['a system role', { contents: [{ role: 'system', parts: [{ text: 'x' }] }] }],
      ['a part with no data', { contents: [{ role: 'user', parts: [{}] }] }],
      ['an empty model text part', { contents: [user, { role: 'model', parts: [{ text: '' }] }, user] }],
      [
        'a functionResponse without a name',
        { contents: [{ role: 'user', parts: [{ functionResponse: { response: { result: 1 } } }] }] },
      ],
      ['an unknown field', { contents: [user], temperature: 1 }],
      ['an unknown generationConfig field', { contents: [user], generationConfig: { max_tokens: 5 } }],
      [
        'additionalProperties in parameters',
        {
          contents: [user],
          tools: [
            { functionDeclarations: [{ name: 'f', parameters: { type: 'object', additionalProperties: false } }] },
          ],
        },
      ],
      [
        'allowedFunctionNames with mode AUTO',
        {
          contents: [user],
          tools: [{ functionDeclarations: [{ name: 'f' }] }],
          toolConfig: { functionCallingConfig: { mode: 'AUTO', allowedFunctionNames: ['f'] } },
        },
      ],
    ];
    try {
      for (const [what, body] of bad) {
        const res = await fetch(`${g.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-goog-api-key': g.apiKey },
          body: JSON.stringify(body),
        });
        assert.equal(res.status, 400, what);
        assert.equal(((await res.json()) as { error: { status: string } }).error.status, 'INVALID_ARGUMENT', what);
      }
      const ok = await fetch(`${g.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': g.apiKey },
        body: JSON.stringify({ contents: [user] }),
      });
      assert.equal(ok.status, 200);
    } finally {
      await g.close();
    }
  });

  it('the mock refuses a gemini-3 history whose first call lacks its signature, as Gemini 3 does', async () => {
    const g = await startMockGemini();
    try {
      const res = await fetch(`${g.url}/v1beta/models/gemini-3-flash:generateContent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': g.apiKey },
        body: JSON.stringify({
          contents: [
            { role: 'user', parts: [{ text: 'hi' }] },
            { role: 'model', parts: [{ functionCall: { name: 'now', args: {} } }] },
            { role: 'user', parts: [{ functionResponse: { name: 'now', response: { result: '12:00' } } }] },
          ],
        }),
      });
      assert.equal(res.status, 400);
      assert.match(await res.text(), /missing a thought_signature/);
    } finally {
      await g.close();
    }
  });
});

async function waitForRecord<T>(records: T[], match: (r: T) => boolean): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const found = [...records].reverse().find(match);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no matching usage record');
}
