/** Retell's LLM WebSocket: Retell's documented events in, `response` events out, supersession aborting the upstream. */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { memorySink, startParley, type TestParley } from './helpers/parley.js';

const KEY = 'retell-secret-key';
const TEXT = 'Sure, I can help you reschedule that appointment today.';

interface ResponseEvent {
  response_type: string;
  response_id?: number;
  content?: string;
  content_complete?: boolean;
  end_call?: boolean;
  timestamp?: number;
  config?: unknown;
}

/** A Retell-side client: the events Parley sends, in order. */
class RetellClient {
  readonly events: ResponseEvent[] = [];
  private waiting: (() => void) | null = null;
  closed: { code: number; reason: string } | null = null;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      this.events.push(JSON.parse(String(d)));
      this.waiting?.();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      this.waiting?.();
    });
  }

  static connect(url: string): Promise<RetellClient> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RetellClient(ws)));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => reject(Object.assign(new Error('refused'), { status: res.statusCode, body })));
      });
      ws.once('error', reject);
    });
  }

  send(event: unknown): void {
    this.ws.send(JSON.stringify(event));
  }

  /** Waits until `pred` holds over the events received (or the socket closed). */
  async until(pred: (events: ResponseEvent[]) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!pred(this.events) && this.closed === null) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.waiting = r;
        setTimeout(r, 50);
      });
    }
  }

  responses(id: number): ResponseEvent[] {
    return this.events.filter((e) => e.response_type === 'response' && e.response_id === id);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.ws.close();
    await this.until(() => false, 'close');
  }
}

const complete = (id: number) => (events: ResponseEvent[]) =>
  events.some((e) => e.response_type === 'response' && e.response_id === id && e.content_complete);

/** A transcript as Retell sends it (roles agent/user). */
const transcript = [
  { role: 'agent', content: 'Hi, this is Bright Smiles dental, how can I help?' },
  { role: 'user', content: 'I need to move my appointment.' },
];

describe('Retell LLM WebSocket', () => {
  let up: MockUpstream;
  let p: TestParley;
  let ws: string;
  const sink = memorySink();
  before(async () => {
    up = await startMockUpstream();
    p = await startParley(
      { PARLEY_API_KEYS: KEY, OPENAI_API_KEY: 'sk-up', OPENAI_BASE_URL: up.url },
      { models: { receptionist: { provider: 'openai', model: 'gpt-4o-mini' } } },
      {},
      sink,
    );
    ws = `${p.url.replace('http', 'ws')}/retell/llm-websocket`;
  });
  after(async () => {
    await p.close();
    await up.close();
  });
  afterEach(() => {
    up.received.length = 0;
    sink.records.length = 0;
    up.scenarios.clear();
    up.scenarios.set('*', { kind: 'text', text: TEXT });
  });

  it('sends the config and the begin message, answers ping_pong, and streams a response to response_required', async () => {
    up.scenarios.set('*', { kind: 'text', text: TEXT });
    const system = 'You are the front desk of a dental clinic.';
    const c = await RetellClient.connect(
      `${ws}/call_6f2e1a?key=${KEY}&model=receptionist&begin=${encodeURIComponent('Hello, Bright Smiles!')}&system=${encodeURIComponent(system)}`,
    );
    await c.until((e) => e.length >= 2, 'config and begin message');
    assert.deepEqual(c.events[0], { response_type: 'config', config: { auto_reconnect: true, call_details: true } });
    assert.deepEqual(c.events[1], {
      response_type: 'response',
      response_id: 0,
      content: 'Hello, Bright Smiles!',
      content_complete: true,
      end_call: false,
    });

    c.send({
      interaction_type: 'call_details',
      call: { call_id: 'call_6f2e1a', agent_id: 'agent_1', call_type: 'phone_call' },
    });
    c.send({ interaction_type: 'update_only', transcript, turntaking: 'user_turn' });
    c.send({ interaction_type: 'some_future_event', whatever: true });
    c.send({ interaction_type: 'ping_pong', timestamp: 1_764_650_000_000 });
    await c.until((e) => e.length >= 3, 'pong');
    assert.deepEqual(
      c.events[2],
      { response_type: 'ping_pong', timestamp: 1_764_650_000_000 },
      'nothing answered the others',
    );

    c.send({ interaction_type: 'response_required', response_id: 1, transcript });
    await c.until(complete(1), 'response 1 complete');
    const r1 = c.responses(1);
    assert.equal(r1.map((e) => e.content).join(''), TEXT);
    assert.ok(r1.length > 2, 'streamed as tokens arrive, not in one piece');
    assert.ok(r1.slice(0, -1).every((e) => e.content_complete === false && e.end_call === false));
    assert.deepEqual(r1.at(-1), {
      response_type: 'response',
      response_id: 1,
      content: '',
      content_complete: true,
      end_call: false,
    });
    assert.deepEqual(up.received[0]!.body.messages, [
      { role: 'system', content: system },
      { role: 'assistant', content: transcript[0]!.content },
      { role: 'user', content: transcript[1]!.content },
    ]);
    assert.equal(up.received[0]!.body.stream, true);
    await c.close();
    const rec = sink.records[0]!;
    assert.equal(rec.route, 'retell');
    assert.equal(rec.platform, 'retell');
    assert.equal(rec.callId, 'call_6f2e1a');
    assert.equal(rec.requestedModel, 'receptionist');
    assert.equal(rec.status, 200);
    assert.equal(rec.completionTokens, 7);
    assert.equal(rec.keyId, 'env:0');
  });

  it('a newer response_id aborts the older generation’s upstream at once, and only the newer one is answered from then on', async () => {
    up.scenarios.set('*', { kind: 'text', text: TEXT, delayMs: 60 });
    const c = await RetellClient.connect(`${ws}/call_supersede?key=${KEY}`);
    await c.until((e) => e.length >= 2, 'begin');
    assert.equal(c.events[1]!.content, '', 'no begin message: the caller speaks first');
    c.send({ interaction_type: 'response_required', response_id: 1, transcript });
    await c.until(() => c.responses(1).length >= 2, 'response 1 under way');
    const abortedBefore = up.aborted;
    c.send({
      interaction_type: 'response_required',
      response_id: 2,
      transcript: [...transcript, { role: 'user', content: 'Actually, can I cancel instead?' }],
    });
    await c.until(() => up.aborted === abortedBefore + 1, 'the first upstream request aborted');
    assert.equal(up.aborted, abortedBefore + 1);
    await c.until(complete(2), 'response 2 complete');
    const firstOf2 = c.events.findIndex((e) => e.response_id === 2);
    assert.ok(
      c.events.slice(firstOf2).every((e) => e.response_id !== 1),
      'nothing of the superseded response after the newer one began',
    );
    assert.equal(
      c.responses(1).some((e) => e.content_complete),
      false,
      'the superseded response never completes',
    );
    assert.equal(
      c
        .responses(2)
        .map((e) => e.content)
        .join(''),
      TEXT,
    );
    assert.equal(up.received.length, 2);
    await c.close();
    await sleep(50);
    const byId = new Map(sink.records.map((r) => [r.requestId.split(':').at(-1), r]));
    assert.equal(byId.get('1')!.clientAborted, true, 'the superseded response is recorded as interrupted');
    // Barge-in billing: what was said before the interruption is counted, never recorded as zero.
    const superseded = byId.get('1')!;
    assert.equal(superseded.usageEstimated, true);
    assert.ok((superseded.completionTokens ?? 0) > 0, `completion tokens ${superseded.completionTokens}`);
    assert.ok((superseded.promptTokens ?? 0) > 0, `prompt tokens ${superseded.promptTokens}`);
    assert.equal(byId.get('2')!.clientAborted, false);
    assert.equal(byId.get('2')!.callId, 'call_supersede');
  });

  it('an older response_id than the newest is ignored', async () => {
    const c = await RetellClient.connect(`${ws}/call_stale?key=${KEY}`);
    c.send({ interaction_type: 'response_required', response_id: 3, transcript });
    await c.until(complete(3), 'response 3');
    c.send({ interaction_type: 'response_required', response_id: 2, transcript });
    c.send({ interaction_type: 'ping_pong', timestamp: 1 });
    await c.until((e) => e.some((x) => x.response_type === 'ping_pong'), 'pong');
    assert.equal(c.responses(2).length, 0);
    assert.equal(up.received.length, 1);
    await c.close();
  });

  it('reminder_required asks the model to check on a silent caller', async () => {
    const c = await RetellClient.connect(`${ws}/call_reminder?key=${KEY}`);
    c.send({ interaction_type: 'reminder_required', response_id: 1, transcript });
    await c.until(complete(1), 'reminder response');
    const messages = up.received[0]!.body.messages as { role: string; content: string }[];
    assert.equal(messages.length, 3);
    assert.equal(messages.at(-1)!.role, 'system');
    assert.match(messages.at(-1)!.content, /silent/);
    await c.close();
  });

  it('an upstream failure ends the turn with content_complete, and the call goes on', async () => {
    up.scenarios.set('*', { kind: 'error', status: 500 });
    const c = await RetellClient.connect(`${ws}/call_fail?key=${KEY}`);
    c.send({ interaction_type: 'response_required', response_id: 1, transcript });
    await c.until(complete(1), 'response 1 ends');
    assert.equal(
      c
        .responses(1)
        .map((e) => e.content)
        .join(''),
      '',
    );
    up.scenarios.set('*', { kind: 'text', text: TEXT });
    c.send({ interaction_type: 'response_required', response_id: 2, transcript });
    await c.until(complete(2), 'response 2');
    assert.equal(
      c
        .responses(2)
        .map((e) => e.content)
        .join(''),
      TEXT,
    );
    await c.close();
    await sleep(50);
    const failed = sink.records.find((r) => r.requestId.endsWith(':1'))!;
    assert.equal(failed.status, 500);
    assert.equal(failed.route, 'retell');
  });

  it('closes with 1007 on a frame that is not a Retell event, 1003 on a binary frame; Parley keeps serving', async () => {
    for (const [frame, code] of [
      ['not json at all', 1007],
      [JSON.stringify({ interaction_type: 'response_required', response_id: 'one', transcript }), 1007],
      [JSON.stringify({ interaction_type: 'response_required', response_id: 1, transcript: 'hello' }), 1007],
      [JSON.stringify([1, 2]), 1007],
      [Buffer.from([1, 2, 3]), 1003],
    ] as const) {
      const c = await RetellClient.connect(`${ws}/call_bad?key=${KEY}`);
      c.ws.send(frame);
      await c.until(() => false, 'close');
      assert.equal(c.closed?.code, code, String(frame));
    }
    const c = await RetellClient.connect(`${ws}/call_after?key=${KEY}`);
    c.send({ interaction_type: 'response_required', response_id: 1, transcript });
    await c.until(complete(1), 'still serving');
    await c.close();
  });

  it('refuses before the upgrade: no key, a wrong key (401), an unknown model (404); the key may be a header', async () => {
    for (const url of [`${ws}/c1`, `${ws}/c1?key=wrong`]) {
      await assert.rejects(RetellClient.connect(url), (err: { status?: number }) => err.status === 401);
    }
    await assert.rejects(
      RetellClient.connect(`${ws}/c1`),
      (err: { body?: string }) => /\?key=/.test(JSON.parse(err.body!).error.message),
      'the refusal says where Retell’s key goes',
    );
    // Without a default upstream, a name that is no alias routes nowhere.
    const builtinOnly = await startParley({ PARLEY_API_KEYS: KEY });
    try {
      const url = `${builtinOnly.url.replace('http', 'ws')}/retell/llm-websocket/c1?key=${KEY}&model=no-such-model`;
      await assert.rejects(RetellClient.connect(url), (err: { status?: number }) => err.status === 404);
    } finally {
      await builtinOnly.close();
    }
    const viaHeader = new WebSocket(`${ws}/c2`, { headers: { authorization: `Bearer ${KEY}` } });
    await new Promise((resolve, reject) => {
      viaHeader.once('open', resolve);
      viaHeader.once('error', reject);
    });
    viaHeader.close();
  });

  it('a shutdown ends an open call and aborts its generation', async () => {
    const own = await startParley({ PARLEY_API_KEYS: KEY, OPENAI_API_KEY: 'sk-up', OPENAI_BASE_URL: up.url });
    up.scenarios.set('*', { kind: 'text', text: TEXT, delayMs: 200 });
    const abortedBefore = up.aborted;
    const c = await RetellClient.connect(
      `${own.url.replace('http', 'ws')}/retell/llm-websocket/call_shutdown?key=${KEY}`,
    );
    c.send({ interaction_type: 'response_required', response_id: 1, transcript });
    await c.until(() => c.responses(1).length >= 1, 'generation under way');
    await own.close();
    await c.until(() => false, 'closed by the shutdown');
    assert.ok(c.closed, 'the socket was closed');
    for (let i = 0; i < 100 && up.aborted === abortedBefore; i++) await sleep(20);
    assert.equal(up.aborted, abortedBefore + 1, 'the upstream request was aborted');
  });
});
