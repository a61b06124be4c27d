/** The official openai npm SDK as a client of Parley: streaming helpers, error classes, mid-stream errors. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { startParley, type TestParley } from './helpers/parley.js';

const KEY = 'sk-sdk';
const messages = [{ role: 'user' as const, content: 'weather in Paris?' }];
const tools = [
  {
    type: 'function' as const,
    function: {
      name: 'get_weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
];

describe('openai SDK against Parley', () => {
  let up: MockUpstream;
  let p: TestParley;
  let client: OpenAI;
  before(async () => {
    up = await startMockUpstream();
    p = await startParley(
      { PARLEY_API_KEYS: KEY, OPENAI_API_KEY: 'sk-up', OPENAI_BASE_URL: up.url },
      {
        providers: { offline: { type: 'builtin' } },
        models: { offline: { provider: 'offline', model: 'parley-offline' } },
      },
    );
    client = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: KEY, maxRetries: 0 });
  });
  after(async () => {
    await p.close();
    await up.close();
  });

  it('.stream() + finalChatCompletion() assemble a streamed tool call (upstream)', async () => {
    up.scenarios.set('*', { kind: 'tool', name: 'get_weather', args: '{"city":"Paris"}' });
    const stream = client.chat.completions.stream({ model: 'gpt-4o-mini', messages, tools });
    const final = await stream.finalChatCompletion();
    const call = final.choices[0]!.message.tool_calls![0]!;
    assert.equal(call.type, 'function');
    assert.equal(call.type === 'function' && call.function.name, 'get_weather');
    assert.deepEqual(call.type === 'function' && JSON.parse(call.function.arguments), { city: 'Paris' });
    assert.equal(final.choices[0]!.finish_reason, 'tool_calls');
    up.scenarios.set('*', { kind: 'text' });
  });

  it(".stream() + finalChatCompletion() on the built-in model's forced tool call, with usage", async () => {
    const stream = client.chat.completions.stream({
      model: 'offline',
      messages,
      tools,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      stream_options: { include_usage: true },
    });
    const final = await stream.finalChatCompletion();
    const call = final.choices[0]!.message.tool_calls![0]!;
    assert.ok(call.type === 'function' && typeof JSON.parse(call.function.arguments).city === 'string');
    assert.ok(final.usage && final.usage.total_tokens > 0);
  });

  it('create() works non-streamed', async () => {
    const res = await client.chat.completions.create({ model: 'offline', messages });
    assert.match(res.choices[0]!.message.content ?? '', /offline model/);
  });

  it('maps each error status to the SDK error class', async () => {
    const cases: [() => Promise<unknown>, new (...a: never[]) => Error, number][] = [
      [() => client.chat.completions.create({ model: 'offline', messages: [] }), OpenAI.BadRequestError, 400],
      [
        () =>
          new OpenAI({ baseURL: `${p.url}/v1`, apiKey: 'nope', maxRetries: 0 }).chat.completions.create({
            model: 'offline',
            messages,
          }),
        OpenAI.AuthenticationError,
        401,
      ],
    ];
    for (const status of [404, 429, 500, 503]) {
      cases.push([
        async () => {
          up.scenarios.set('*', { kind: 'error', status });
          try {
            return await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
          } finally {
            up.scenarios.set('*', { kind: 'text' });
          }
        },
        {
          404: OpenAI.NotFoundError,
          429: OpenAI.RateLimitError,
          500: OpenAI.InternalServerError,
          503: OpenAI.InternalServerError,
        }[status]!,
        status,
      ]);
    }
    for (const [call, cls, status] of cases) {
      await assert.rejects(call(), (err: unknown) => {
        assert.ok(err instanceof cls, `${status}: got ${(err as Error).constructor.name}`);
        assert.equal((err as InstanceType<typeof OpenAI.APIError>).status, status);
        return true;
      });
    }
  });

  it('surfaces a mid-stream error as an APIError while iterating', async () => {
    up.scenarios.set('*', { kind: 'midstream-error', afterChunks: 2 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) seen.push(chunk.choices[0]?.delta?.content ?? '');
      })(),
      (err: unknown) => err instanceof OpenAI.APIError && /mock upstream error 500/.test((err as Error).message),
    );
    assert.equal(seen.length, 2, 'the chunks before the error arrived');
    up.scenarios.set('*', { kind: 'text' });
  });

  it('lists models', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.deepEqual(ids.sort(), ['default', 'offline']);
  });
});
