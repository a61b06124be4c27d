/** The built-in offline model: what `default` serves with no upstream configured. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertSpec } from './helpers/openai-spec.js';
import { postJson, sseEvents, startParley, type TestParley } from './helpers/parley.js';
import { checkStream, contentOf } from './helpers/stream-checks.js';

const user = (content: string) => [{ role: 'user', content }];

describe('built-in offline model', () => {
  let p: TestParley;
  let chat: string;
  before(async () => {
    p = await startParley();
    chat = `${p.url}/v1/chat/completions`;
  });
  after(() => p.close());

  it('answers a plain request with a chat.completion that says what it is and what it received', async () => {
    const res = await postJson(chat, { model: 'default', messages: user('Tell me a joke') });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = await res.json();
    assertSpec('CreateChatCompletionResponse', body);
    assert.equal(body.object, 'chat.completion');
    assert.match(body.choices[0].message.content, /Parley's built-in offline model/);
    assert.match(body.choices[0].message.content, /Tell me a joke/);
    assert.match(
      body.choices[0].message.content,
      /no upstream provider is configured.*Set OPENAI_API_KEY or PARLEY_CONFIG/,
    );
    assert.equal(body.choices[0].finish_reason, 'stop');
    assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens);
  });

  it('points at the config when one routed the request here, rather than saying to set one', async () => {
    const configured = await startParley({}, { models: { default: { provider: 'builtin', model: 'parley-offline' } } });
    try {
      const body = await (
        await postJson(`${configured.url}/v1/chat/completions`, { model: 'default', messages: user('hi') })
      ).json();
      const text: string = body.choices[0].message.content;
      assert.doesNotMatch(text, /PARLEY_CONFIG to route|no upstream provider is configured/);
      assert.match(
        text,
        /the model name "default" is routed to it.*To answer with a real model, route "default" to an upstream provider in PARLEY_CONFIG\.$/,
      );
    } finally {
      await configured.close();
    }
  });

  it('is deterministic', async () => {
    const a = await (await postJson(chat, { model: 'default', messages: user('same') })).json();
    const b = await (await postJson(chat, { model: 'default', messages: user('same') })).json();
    assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  });

  it('streams token by token with OpenAI stream invariants', async () => {
    const res = await postJson(chat, { model: 'default', messages: user('hi'), stream: true });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const events = await sseEvents(res);
    const chunks = checkStream(events);
    assert.ok(chunks.length > 10, 'several token chunks');
    assert.match(contentOf(chunks), /built-in offline model/);
  });

  it('honours max_tokens and max_completion_tokens with finish_reason "length"', async () => {
    for (const field of ['max_tokens', 'max_completion_tokens']) {
      const body = await (await postJson(chat, { model: 'default', messages: user('x'), [field]: 3 })).json();
      assert.equal(body.choices[0].finish_reason, 'length', field);
      assert.equal(body.usage.completion_tokens, 3, field);
      const chunks = checkStream(
        await sseEvents(await postJson(chat, { model: 'default', messages: user('x'), [field]: 3, stream: true })),
      );
      assert.equal(chunks.flatMap((c) => c.choices).find((ch) => ch.finish_reason)?.finish_reason, 'length');
      assert.equal(contentOf(chunks).trim().split(/\s+/).length, 3);
    }
  });

  it('honours stop sequences', async () => {
    const body = await (await postJson(chat, { model: 'default', messages: user('x'), stop: ['offline'] })).json();
    assert.equal(body.choices[0].message.content, "This is Parley's built-in ");
    assert.equal(body.choices[0].finish_reason, 'stop');
  });

  it('returns n choices, interleaved when streaming', async () => {
    const body = await (await postJson(chat, { model: 'default', messages: user('x'), n: 3 })).json();
    assert.deepEqual(
      body.choices.map((c: { index: number }) => c.index),
      [0, 1, 2],
    );
    const chunks = checkStream(
      await sseEvents(await postJson(chat, { model: 'default', messages: user('x'), n: 2, stream: true })),
      { n: 2 },
    );
    const order = chunks.slice(0, 6).map((c) => c.choices[0]!.index);
    assert.deepEqual(order, [0, 1, 0, 1, 0, 1]);
    assert.equal(contentOf(chunks, 0), contentOf(chunks, 1));
  });

  it('sends the usage chunk only when stream_options.include_usage is true', async () => {
    const withUsage = checkStream(
      await sseEvents(
        await postJson(chat, {
          model: 'default',
          messages: user('x'),
          stream: true,
          stream_options: { include_usage: true },
        }),
      ),
      { includeUsage: true },
    );
    assert.ok((withUsage.at(-1)!.usage as { total_tokens: number }).total_tokens > 0);
    checkStream(
      await sseEvents(
        await postJson(chat, {
          model: 'default',
          messages: user('x'),
          stream: true,
          stream_options: { include_usage: false },
        }),
      ),
    );
  });

  const weatherTool = {
    type: 'function',
    function: {
      name: 'get_weather',
      parameters: {
        type: 'object',
        properties: {
          city: { type: 'string', minLength: 2 },
          unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
          days: { type: 'integer', minimum: 1, maximum: 7 },
        },
        required: ['city', 'unit', 'days'],
        additionalProperties: false,
      },
    },
  };

  it('makes a well-formed tool call when tool_choice forces one', async () => {
    const body = await (
      await postJson(chat, {
        model: 'default',
        messages: user('weather?'),
        tools: [weatherTool],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
      })
    ).json();
    assertSpec('CreateChatCompletionResponse', body);
    const call = body.choices[0].message.tool_calls[0];
    assert.equal(body.choices[0].finish_reason, 'tool_calls');
    assert.equal(call.function.name, 'get_weather');
    const args = JSON.parse(call.function.arguments);
    assert.equal(typeof args.city, 'string');
    assert.ok(args.city.length >= 2);
    assert.equal(args.unit, 'celsius');
    assert.ok(Number.isInteger(args.days) && args.days >= 1 && args.days <= 7);
  });

  it('streams a forced tool call as OpenAI does: id, type and name first, then argument fragments', async () => {
    const chunks = checkStream(
      await sseEvents(
        await postJson(chat, {
          model: 'default',
          messages: user('weather?'),
          stream: true,
          tools: [weatherTool],
          tool_choice: 'required',
        }),
      ),
    );
    type Call = { index: number; id?: string; type?: string; function: { name?: string; arguments?: string } };
    const calls = chunks.flatMap((c) => c.choices.flatMap((ch) => (ch.delta.tool_calls as Call[] | undefined) ?? []));
    assert.equal(calls[0]!.id?.startsWith('call_'), true);
    assert.equal(calls[0]!.type, 'function');
    assert.equal(calls[0]!.function.name, 'get_weather');
    assert.ok(calls.slice(1).every((c) => c.id === undefined && c.function.name === undefined));
    const args = JSON.parse(calls.map((c) => c.function.arguments ?? '').join(''));
    assert.deepEqual(Object.keys(args).sort(), ['city', 'days', 'unit']);
    assert.equal(chunks.flatMap((c) => c.choices).find((ch) => ch.finish_reason)?.finish_reason, 'tool_calls');
  });

  it('answers in text when tool_choice is auto', async () => {
    const body = await (
      await postJson(chat, { model: 'default', messages: user('x'), tools: [weatherTool], tool_choice: 'auto' })
    ).json();
    assert.equal(body.choices[0].finish_reason, 'stop');
    assert.match(body.choices[0].message.content, /1 tool was offered/);
  });

  it('lists default in /v1/models', async () => {
    const res = await fetch(`${p.url}/v1/models`);
    const body = await res.json();
    assertSpec('ListModelsResponse', body);
    assert.deepEqual(
      body.data.map((m: { id: string }) => m.id),
      ['default'],
    );
  });

  it('404s a model it cannot route, with code model_not_found', async () => {
    const res = await postJson(chat, { model: 'gpt-3.5-turbo', messages: user('x') });
    assert.equal(res.status, 404);
    const body = await res.json();
    assertSpec('ErrorResponse', body);
    assert.equal(body.error.code, 'model_not_found');
    assert.equal(body.error.param, 'model');
    assert.match(body.error.message, /The models this server routes are: `default`\.$/);
  });
});
