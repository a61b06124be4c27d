/**
 * Messages in → Anthropic out without Chat Completions in between: the client's body reaches
 * the Anthropic upstream as sent (thinking blocks and signatures, top_k, cache_control), the
 * answer comes back as Anthropic wrote it (thinking blocks included), usage is recorded from
 * message_start/message_delta, and failover before the first byte still reaches the next target.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import type { RequestRecord } from '../src/usage/record.js';
import { DEFAULT_TEXT, type MockAnthropic, startMockAnthropic } from './helpers/mock-anthropic.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { memorySink, startParley, type TestParley } from './helpers/parley.js';

const KEY = 'sk-parley-pass';
const ANTHROPIC_KEY = 'sk-ant-pass';

async function recordFor(records: RequestRecord[], requestId: string | null | undefined): Promise<RequestRecord> {
  for (let i = 0; i < 100; i++) {
    const r = records.find((x) => x.requestId === requestId);
    if (r) return r;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`no usage record for ${requestId}`);
}

describe('Messages API passthrough to an Anthropic upstream', () => {
  let claude: MockAnthropic;
  let up: MockUpstream;
  let p: TestParley;
  let client: Anthropic;
  const sink = memorySink();
  before(async () => {
    claude = await startMockAnthropic();
    claude.apiKey = ANTHROPIC_KEY;
    up = await startMockUpstream();
    p = await startParley(
      {
        PARLEY_API_KEYS: KEY,
        ANTHROPIC_API_KEY: ANTHROPIC_KEY,
        ANTHROPIC_BASE_URL: claude.url,
        OPENAI_API_KEY: 'sk-up',
        OPENAI_BASE_URL: up.url,
      },
      {
        models: {
          sonnet: { provider: 'anthropic', model: 'claude-sonnet-4-5' },
          'claude-then-gpt': {
            targets: [
              { provider: 'anthropic', model: 'claude-overloaded' },
              { provider: 'openai', model: 'gpt-4o-mini' },
            ],
          },
        },
      },
      {},
      sink,
    );
    client = new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 0 });
  });
  after(async () => {
    await p.close();
    await up.close();
    await claude.close();
  });
  afterEach(() => {
    claude.scenarios.clear();
    claude.received.length = 0;
    up.received.length = 0;
  });

  const history: Anthropic.MessageParam[] = [
    { role: 'user', content: 'What is 2+2?' },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'Two and two make four.', signature: 'EqSignedByClaude==' },
        { type: 'redacted_thinking', data: 'EmRedacted==' },
        { type: 'text', text: '4' },
      ],
    },
    { role: 'user', content: [{ type: 'text', text: 'And times 3?', cache_control: { type: 'ephemeral' } }] },
  ];

  it('sends the body as the client sent it (only the model routed) and returns thinking blocks with signatures', async () => {
    claude.scenarios.set('claude-sonnet-4-5', {
      kind: 'message',
      content: [
        { type: 'thinking', thinking: 'Four times three.' },
        { type: 'text', text: '12' },
      ],
    });
    const request = {
      model: 'sonnet',
      max_tokens: 2048,
      top_k: 40,
      thinking: { type: 'enabled' as const, budget_tokens: 1024 },
      messages: history,
    };
    const msg = await client.messages.create(request);
    assert.deepEqual(claude.received[0]!.body, { ...request, model: 'claude-sonnet-4-5' });
    assert.equal(claude.received[0]!.headers['x-api-key'], ANTHROPIC_KEY);
    assert.deepEqual(
      msg.content.map((b) => b.type),
      ['thinking', 'text'],
    );
    const thinking = msg.content[0] as Anthropic.ThinkingBlock;
    assert.equal(thinking.thinking, 'Four times three.');
    assert.ok(thinking.signature.length > 0);
    assert.equal(up.received.length, 0, 'no Chat Completions upstream was involved');
  });

  it('relays the stream as Anthropic sent it, thinking and signature deltas included, and records its usage', async () => {
    claude.scenarios.set('claude-sonnet-4-5', {
      kind: 'message',
      content: [
        { type: 'thinking', thinking: 'Let me think.' },
        { type: 'text', text: DEFAULT_TEXT },
      ],
      usage: { input_tokens: 30, output_tokens: 9, cache_read_input_tokens: 5 },
    });
    const { data: stream, response } = await client.messages
      .stream({
        model: 'sonnet',
        max_tokens: 2048,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        messages: history,
      })
      .withResponse();
    const msg = await stream.finalMessage();
    assert.equal(claude.received[0]!.body.stream, true);
    assert.deepEqual(
      msg.content.map((b) => b.type),
      ['thinking', 'text'],
    );
    assert.ok((msg.content[0] as Anthropic.ThinkingBlock).signature.length > 0);
    assert.equal((msg.content[1] as Anthropic.TextBlock).text, DEFAULT_TEXT);
    const r = await recordFor(sink.records, response.headers.get('request-id'));
    assert.equal(r.route, 'anthropic');
    assert.equal(r.provider, 'anthropic');
    assert.equal(r.upstreamModel, 'claude-sonnet-4-5');
    assert.equal(r.status, 200);
    assert.equal(r.promptTokens, 35);
    assert.equal(r.completionTokens, 9);
  });

  it('fails over before the first byte: an overloaded Anthropic target, then the OpenAI-compatible one (translated)', async () => {
    claude.scenarios.set('claude-overloaded', { kind: 'http-error', status: 529, type: 'overloaded_error' });
    const msg = await client.messages
      .stream({ model: 'claude-then-gpt', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] })
      .finalMessage();
    assert.equal(claude.received.length, 1);
    assert.equal(up.received.length, 1);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.equal((msg.content[0] as Anthropic.TextBlock).text, 'Hello from the mock upstream.');
  });

  it("an Anthropic refusal before the stream is its status in Anthropic's envelope (529 stays overloaded)", async () => {
    claude.scenarios.set('claude-sonnet-4-5', {
      kind: 'http-error',
      status: 529,
      type: 'overloaded_error',
      message: 'Overloaded',
    });
    await assert.rejects(
      client.messages.create({ model: 'sonnet', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }),
      (err) => err instanceof Anthropic.APIError && err.status === 529 && err.type === 'overloaded_error',
    );
  });

  it("the upstream's error event mid-stream reaches the client as sent; a cut stream ends with Parley's", async () => {
    claude.scenarios.set('claude-sonnet-4-5', {
      kind: 'stream-error',
      afterEvents: 3,
      type: 'overloaded_error',
      message: 'Overloaded',
    });
    const ask = { model: 'sonnet', max_tokens: 10, messages: [{ role: 'user' as const, content: 'Hi' }] };
    await assert.rejects(
      client.messages.stream(ask).finalMessage(),
      (err) => err instanceof Anthropic.APIError && err.type === 'overloaded_error',
    );
    claude.scenarios.set('claude-sonnet-4-5', { kind: 'cut', afterEvents: 3 });
    await assert.rejects(
      client.messages.stream(ask).finalMessage(),
      (err) => err instanceof Anthropic.APIError && err.type === 'api_error' && /Upstream anthropic/.test(err.message),
    );
  });
});
