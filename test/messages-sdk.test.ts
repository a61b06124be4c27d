/**
 * The official Anthropic SDK (@anthropic-ai/sdk) as a client of Parley's Messages API, on
 * every upstream family in FAMILIES: the built-in offline model, an OpenAI-compatible mock
 * upstream and an Anthropic mock (passed through). A family is one entry (how to start its
 * upstream, which model names to ask for, how to make it call a tool): Gemini is one more.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import type { FileConfig } from '../src/config/file.js';
import type { RequestRecord } from '../src/usage/record.js';
import { type MockAnthropic, startMockAnthropic } from './helpers/mock-anthropic.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { assertSpec } from './helpers/openai-spec.js';
import { memorySink, startParley, type TestParley } from './helpers/parley.js';

const KEY = 'sk-parley-messages';

const weatherTool = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: {
    type: 'object' as const,
    properties: { city: { type: 'string' } },
    required: ['city'],
  },
};

interface FamilyUpstream {
  env: Record<string, string>;
  fileConfig?: FileConfig;
  /** The model name a plain question is asked of. */
  model: string;
  /** Makes the next answer a call of `name` with these arguments (as JSON text), or a text again. */
  answerWith(next: { tool: string; args: string } | 'text'): void;
  /** The Chat Completions bodies the upstream received (none for the built-in model). */
  received(): Record<string, unknown>[];
  close(): Promise<void>;
}

interface Family {
  name: string;
  start(): Promise<FamilyUpstream>;
}

const FAMILIES: Family[] = [
  {
    name: 'built-in offline model',
    async start() {
      return {
        env: {},
        model: 'default',
        // The offline model calls a tool when tool_choice forces one (the tests send `any`).
        answerWith: () => {},
        received: () => [],
        close: async () => {},
      };
    },
  },
  {
    name: 'OpenAI-compatible upstream',
    async start() {
      const up: MockUpstream = await startMockUpstream();
      return {
        env: { OPENAI_API_KEY: 'sk-up', OPENAI_BASE_URL: up.url },
        model: 'gpt-4o-mini',
        answerWith: (next) =>
          up.scenarios.set(
            '*',
            next === 'text' ? { kind: 'text' } : { kind: 'tool', name: next.tool, args: next.args },
          ),
        received: () => up.received.map((r) => r.body),
        close: () => up.close(),
      };
    },
  },
  {
    // Passed through without Chat Completions (protocols/anthropic-messages/passthrough.ts).
    name: 'Anthropic upstream',
    async start() {
      const claude: MockAnthropic = await startMockAnthropic();
      return {
        env: { ANTHROPIC_API_KEY: 'sk-ant-up', ANTHROPIC_BASE_URL: claude.url },
        model: 'claude-sonnet-4-5',
        answerWith: (next) =>
          next === 'text'
            ? claude.scenarios.delete('*')
            : claude.scenarios.set('*', {
                kind: 'message',
                content: [{ type: 'tool_use', name: next.tool, input: JSON.parse(next.args) }],
                stopReason: 'tool_use',
              }),
        // Anthropic bodies, not Chat Completions ones: the mock itself refuses a malformed one.
        received: () => [],
        close: () => claude.close(),
      };
    },
  },
];

async function recordFor(records: RequestRecord[], requestId: string | null | undefined): Promise<RequestRecord> {
  for (let i = 0; i < 100; i++) {
    const r = records.find((x) => x.requestId === requestId);
    if (r) return r;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`no usage record for ${requestId}`);
}

for (const family of FAMILIES) {
  describe(`Anthropic SDK against Parley: ${family.name}`, () => {
    let up: FamilyUpstream;
    let p: TestParley;
    let client: Anthropic;
    const sink = memorySink();
    before(async () => {
      up = await family.start();
      p = await startParley({ PARLEY_API_KEYS: KEY, ...up.env }, up.fileConfig, {}, sink);
      client = new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 0 });
    });
    after(async () => {
      await p.close();
      await up.close();
    });

    it('messages.create answers a message with text, end_turn and usage', async () => {
      up.answerWith('text');
      const msg = await client.messages.create({
        model: up.model,
        max_tokens: 256,
        system: 'Be brief.',
        messages: [{ role: 'user', content: 'Tell me a joke' }],
      });
      assert.match(msg.id, /^msg_/);
      assert.equal(msg.type, 'message');
      assert.equal(msg.role, 'assistant');
      assert.equal(msg.model, up.model);
      assert.equal(msg.stop_reason, 'end_turn');
      assert.equal(msg.content.length, 1);
      const block = msg.content[0]!;
      assert.ok(block.type === 'text' && block.text.length > 0);
      assert.ok(msg.usage.input_tokens > 0 && msg.usage.output_tokens > 0);
      for (const body of up.received()) assertSpec('CreateChatCompletionRequest', body);
    });

    it('messages.stream(...).finalMessage() assembles the streamed text; message_start has real input_tokens', async () => {
      up.answerWith('text');
      const stream = client.messages.stream({
        model: up.model,
        max_tokens: 256,
        messages: [{ role: 'user', content: 'Tell me a joke' }],
      });
      const types: string[] = [];
      let startUsage: Anthropic.Usage | undefined;
      stream.on('streamEvent', (e) => {
        types.push(e.type);
        if (e.type === 'message_start') startUsage = e.message.usage;
      });
      const msg = await stream.finalMessage();
      assert.ok(startUsage && startUsage.input_tokens > 0, 'message_start.usage.input_tokens > 0');
      assert.equal(types[0], 'message_start');
      assert.equal(types[1], 'content_block_start');
      assert.deepEqual(types.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
      assert.equal(msg.stop_reason, 'end_turn');
      assert.equal(msg.content.length, 1);
      const block = msg.content[0]!;
      assert.ok(block.type === 'text' && block.text.length > 0, 'no empty leading text block');
      assert.ok(msg.usage.input_tokens > 0 && msg.usage.output_tokens > 0);
    });

    it('a tool_use round trip: the call, then its tool_result answered', async () => {
      up.answerWith({ tool: 'get_weather', args: '{"city":"Paris"}' });
      const question = { role: 'user' as const, content: 'Weather in Paris?' };
      const first = await client.messages
        .stream({
          model: up.model,
          max_tokens: 256,
          tools: [weatherTool],
          tool_choice: { type: 'any' },
          messages: [question],
        })
        .finalMessage();
      assert.equal(first.stop_reason, 'tool_use');
      const call = first.content.find((b) => b.type === 'tool_use');
      assert.ok(call && call.type === 'tool_use');
      assert.match(call.id, /^toolu_/);
      assert.equal(call.name, 'get_weather');
      assert.equal(typeof (call.input as { city?: unknown }).city, 'string');

      up.answerWith('text');
      const second = await client.messages.create({
        model: up.model,
        max_tokens: 256,
        tools: [weatherTool],
        messages: [
          question,
          { role: 'assistant', content: first.content },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: call.id, content: '18°C, sunny' },
              { type: 'text', text: 'Thanks!' },
            ],
          },
        ],
      });
      assert.equal(second.stop_reason, 'end_turn');
      assert.equal(second.content[0]?.type, 'text');

      const sent = up.received().at(-1);
      if (sent) {
        // The upstream got the history in Chat's order: the call, its answer, then the user's text.
        assertSpec('CreateChatCompletionRequest', sent);
        const msgs = sent.messages as { role: string; tool_call_id?: string; tool_calls?: { id: string }[] }[];
        assert.deepEqual(
          msgs.map((m) => m.role),
          ['user', 'assistant', 'tool', 'user'],
        );
        assert.equal(msgs[1]!.tool_calls![0]!.id, call.id);
        assert.equal(msgs[2]!.tool_call_id, call.id);
      }
    });

    it('messages.countTokens counts the prompt', async () => {
      const short = await client.messages.countTokens({
        model: up.model,
        messages: [{ role: 'user', content: 'Hello' }],
      });
      const long = await client.messages.countTokens({
        model: up.model,
        system: 'You are a helpful assistant who answers in full sentences.',
        tools: [weatherTool],
        messages: [{ role: 'user', content: 'Hello there, how is the weather in Paris today?' }],
      });
      assert.ok(short.input_tokens > 0);
      assert.ok(long.input_tokens > short.input_tokens + 10);
    });

    it("records one usage row on route 'anthropic' with the tokens", async () => {
      up.answerWith('text');
      const { data, response } = await client.messages
        .create({ model: up.model, max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'Hi' }] })
        .withResponse();
      for await (const _ of data) {
        /* read it all */
      }
      const r = await recordFor(sink.records, response.headers.get('request-id'));
      assert.equal(r.route, 'anthropic');
      assert.equal(r.status, 200);
      assert.equal(r.stream, true);
      assert.equal(r.requestedModel, up.model);
      assert.ok((r.promptTokens ?? 0) > 0 && (r.completionTokens ?? 0) > 0, JSON.stringify(r));
    });
  });
}

describe('Anthropic SDK against Parley: keys and upstream failures (OpenAI-compatible mock)', () => {
  let up: MockUpstream;
  let p: TestParley;
  let client: Anthropic;
  before(async () => {
    up = await startMockUpstream();
    p = await startParley({ PARLEY_API_KEYS: KEY, OPENAI_API_KEY: 'sk-up', OPENAI_BASE_URL: up.url });
    client = new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 0 });
  });
  after(async () => {
    await p.close();
    await up.close();
  });
  const ask = { model: 'gpt-4o-mini', max_tokens: 64, messages: [{ role: 'user' as const, content: 'Hi' }] };

  it('accepts the key as x-api-key (apiKey) and as Authorization: Bearer (authToken)', async () => {
    up.scenarios.set('*', { kind: 'text' });
    assert.equal((await client.messages.create(ask)).type, 'message');
    const bearer = new Anthropic({ baseURL: p.url, apiKey: null, authToken: KEY, maxRetries: 0 });
    assert.equal((await bearer.messages.create(ask)).type, 'message');
  });

  it("a wrong key is Anthropic's 401 envelope, raised as AuthenticationError", async () => {
    const wrong = new Anthropic({ baseURL: p.url, apiKey: 'sk-wrong', maxRetries: 0 });
    await assert.rejects(wrong.messages.create(ask), (err) => {
      assert.ok(err instanceof Anthropic.AuthenticationError, String(err));
      assert.equal(err.status, 401);
      assert.equal(err.type, 'authentication_error');
      assert.match(err.requestID ?? '', /^req_/);
      assert.deepEqual(Object.keys((err.error as { error: object }).error).sort(), ['message', 'type']);
      return true;
    });
    await assert.rejects(
      wrong.messages.countTokens({ model: 'x', messages: ask.messages }),
      Anthropic.AuthenticationError,
    );
  });

  it('an invalid request is a 400 invalid_request_error naming the field', async () => {
    await assert.rejects(
      client.messages.create({ model: 'gpt-4o-mini', messages: ask.messages } as never),
      (err) =>
        err instanceof Anthropic.BadRequestError &&
        err.type === 'invalid_request_error' &&
        /max_tokens/.test(err.message),
    );
    await assert.rejects(
      client.messages.create({
        ...ask,
        tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 3 }],
      } as never),
      (err) => err instanceof Anthropic.BadRequestError && /web_search_20250305/.test(err.message),
    );
  });

  for (const [status, errorClass, type, seen] of [
    [429, Anthropic.RateLimitError, 'rate_limit_error', 429],
    [400, Anthropic.BadRequestError, 'invalid_request_error', 400],
    [500, Anthropic.InternalServerError, 'api_error', 500],
    [503, Anthropic.InternalServerError, 'overloaded_error', 529],
  ] as const) {
    it(`an upstream ${status} before the stream is ${seen} ${type} (${errorClass.name})`, async () => {
      up.scenarios.set('*', { kind: 'error', status, headers: status === 429 ? { 'retry-after': '3' } : {} });
      await assert.rejects(client.messages.stream(ask).finalMessage(), (err) => {
        assert.ok(err instanceof errorClass, String(err));
        assert.equal((err as InstanceType<typeof Anthropic.APIError>).status, seen);
        assert.equal((err as InstanceType<typeof Anthropic.APIError>).type, type);
        if (status === 429)
          assert.equal((err as InstanceType<typeof Anthropic.APIError>).headers?.get('retry-after'), '3');
        return true;
      });
      up.scenarios.set('*', { kind: 'text' });
    });
  }

  it('an upstream error during the stream makes the SDK stream raise', async () => {
    up.scenarios.set('*', { kind: 'midstream-error', afterChunks: 3 });
    const stream = client.messages.stream(ask);
    let text = '';
    stream.on('text', (t) => {
      text += t;
    });
    await assert.rejects(stream.finalMessage(), (err) => err instanceof Anthropic.APIError && err.type === 'api_error');
    assert.ok(text.length > 0, 'some text arrived before the error');
    up.scenarios.set('*', { kind: 'text' });
  });

  it('stop_reason is tool_use when the upstream finishes a tool call with "stop" (stream and JSON)', async () => {
    const chunk = (delta: object, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
    up.scenarios.set('*', {
      kind: 'raw',
      contentType: 'text/event-stream',
      body:
        chunk({ role: 'assistant', content: '' }) +
        chunk({
          tool_calls: [{ index: 0, id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '' } }],
        }) +
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":"Rome"}' } }] }) +
        chunk({}, 'stop') +
        'data: [DONE]\n\n',
    });
    const streamed = await client.messages.stream({ ...ask, tools: [weatherTool] }).finalMessage();
    assert.equal(streamed.stop_reason, 'tool_use');
    assert.deepEqual(
      streamed.content.map((b) => b.type),
      ['tool_use'],
    );
    assert.deepEqual((streamed.content[0] as Anthropic.ToolUseBlock).input, { city: 'Rome' });

    up.scenarios.set('*', {
      kind: 'raw',
      contentType: 'application/json',
      body: JSON.stringify({
        id: 'c1',
        object: 'chat.completion',
        created: 1,
        model: 'm',
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: null,
              tool_calls: [
                { id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
              ],
            },
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
      }),
    });
    const json = await client.messages.create({ ...ask, tools: [weatherTool] });
    assert.equal(json.stop_reason, 'tool_use');
    assert.deepEqual(json.usage, { input_tokens: 5, output_tokens: 4 });
    up.scenarios.set('*', { kind: 'text' });
  });
});
