/**
 * AnthropicProvider.sendMessages: a Messages API body sent as it is, the upstream's answer
 * handed back unread (for a Messages-API client of Parley), its failures as the same mapped
 * UpstreamErrors chat raises.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { AnthropicProvider } from '../src/providers/anthropic/index.js';
import { UpstreamError } from '../src/providers/errors.js';
import { type MockAnthropic, startMockAnthropic } from './helpers/mock-anthropic.js';

const KEY = 'sk-ant-passthrough';
const body = { model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] };
const opts = () => ({ signal: new AbortController().signal, requestId: 'req-test-1' });

async function text(r: { body: AsyncIterable<Buffer> }): Promise<string> {
  let s = '';
  for await (const c of r.body) s += c.toString();
  return s;
}

describe('AnthropicProvider.sendMessages', () => {
  let claude: MockAnthropic;
  let provider: AnthropicProvider;
  before(async () => {
    claude = await startMockAnthropic();
    claude.apiKey = KEY;
    provider = new AnthropicProvider({
      id: 'anthropic',
      baseUrl: claude.url,
      apiKey: KEY,
      headers: { 'anthropic-beta': 'some-beta-2026-01-01' },
      firstByteTimeoutMs: 5_000,
      idleTimeoutMs: 5_000,
      maxResponseBytes: 1024 * 1024,
    });
  });
  after(async () => {
    await provider.close();
    await claude.close();
  });
  afterEach(() => {
    claude.scenarios.clear();
    claude.received.length = 0;
  });

  it('sends the body unchanged with Anthropic’s headers and returns the JSON answer unread', async () => {
    const res = await provider.sendMessages(body, opts());
    assert.match(String(res.headers['content-type']), /application\/json/);
    const message = JSON.parse(await text(res));
    assert.equal(message.type, 'message');
    assert.equal(message.content[0].text, 'Hello from Claude.');
    const sent = claude.received[0]!;
    assert.deepEqual(sent.body, body);
    assert.equal(sent.headers['x-api-key'], KEY);
    assert.equal(sent.headers['anthropic-version'], '2023-06-01');
    assert.equal(sent.headers['anthropic-beta'], 'some-beta-2026-01-01');
    assert.equal(sent.headers['x-request-id'], 'req-test-1');
  });

  it('returns a stream as Anthropic sent it: event lines, pings, message_stop', async () => {
    const res = await provider.sendMessages(JSON.stringify({ ...body, stream: true }), opts());
    assert.match(String(res.headers['content-type']), /text\/event-stream/);
    const sse = await text(res);
    assert.match(sse, /^event: message_start\ndata: \{"type":"message_start"/);
    assert.match(sse, /event: ping\n/);
    assert.match(sse, /event: message_stop\ndata: \{"type":"message_stop"\}\n\n$/);
  });

  it('a refusal is the mapped UpstreamError: 400 with Anthropic’s message, 529 → 503, 401 → 502', async () => {
    await assert.rejects(
      provider.sendMessages({ model: 'claude-x', messages: body.messages }, opts()),
      (e: unknown) =>
        e instanceof UpstreamError &&
        e.status === 400 &&
        e.code === 'invalid_request_error' &&
        /max_tokens: Field required/.test(e.message),
    );
    claude.scenarios.set('*', { kind: 'http-error', status: 529, type: 'overloaded_error', message: 'Overloaded' });
    await assert.rejects(
      provider.sendMessages(body, opts()),
      (e: unknown) => e instanceof UpstreamError && e.status === 503 && e.retryable && e.code === 'overloaded_error',
    );
    claude.apiKey = 'another-key';
    try {
      await assert.rejects(
        provider.sendMessages(body, opts()),
        (e: unknown) => e instanceof UpstreamError && e.status === 502 && e.code === 'upstream_auth_failed',
      );
    } finally {
      claude.apiKey = KEY;
    }
  });

  it('count_tokens goes to /v1/messages/count_tokens', async () => {
    const { model, messages } = body;
    const res = await provider.sendMessages({ model, messages }, { ...opts(), endpoint: 'count_tokens' });
    const counted = JSON.parse(await text(res));
    assert.ok(Number.isInteger(counted.input_tokens) && counted.input_tokens > 0);
    assert.equal(claude.received[0]!.url, '/v1/messages/count_tokens');
  });

  it('an unreachable upstream is the transport error, as for chat', async () => {
    const dead = new AnthropicProvider({
      id: 'dead',
      baseUrl: 'http://127.0.0.1:9',
      firstByteTimeoutMs: 1_000,
      idleTimeoutMs: 1_000,
      maxResponseBytes: 1024,
    });
    await assert.rejects(
      dead.sendMessages(body, opts()),
      (e: unknown) => e instanceof UpstreamError && e.status === 502 && e.code === 'upstream_unreachable',
    );
    await dead.close();
  });
});
