/**
 * GET /metrics (issue 15): Prometheus' text format, the counters move by exactly the requests
 * made, label values stay bounded (an unknown model is `other`, no key appears), and
 * PARLEY_METRICS_TOKEN guards the route.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Metrics } from '../src/metrics/metrics.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { memorySink, postJson, startParley, type TestParley } from './helpers/parley.js';

const KEY = 'metrics-test-client-key';
const auth = { authorization: `Bearer ${KEY}` };
const messages = [{ role: 'user', content: 'hi' }];

/** The sum of a metric's samples whose labels include `labels` (0 when none). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${url}/metrics`, { headers });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

describe('GET /metrics', () => {
  let up: MockUpstream;
  let p: TestParley;
  const usage = memorySink();
  before(async () => {
    up = await startMockUpstream();
    up.scenarios.set('broken-model', { kind: 'error', status: 503 });
    p = await startParley(
      { PARLEY_API_KEYS: KEY, OPENAI_API_KEY: 'sk-up', OPENAI_BASE_URL: up.url },
      {
        providers: { a: { type: 'openai-compatible', baseUrl: up.url } },
        models: {
          smart: {
            targets: [
              { provider: 'a', model: 'broken-model' },
              { provider: 'a', model: 'good-model' },
            ],
          },
          doomed: { targets: [{ provider: 'a', model: 'broken-model' }], fallbackReply: 'Sorry, say that again?' },
        },
      },
      {},
      usage,
    );
  });
  after(async () => {
    await p?.close();
    await up?.close();
  });

  it('counts each request once, with its tokens, time to first token, failover and fallback', async () => {
    const before = await scrape(p.url);
    const delta = async (name: string, labels: Record<string, string> = {}) =>
      sample(await scrape(p.url), name, labels) - sample(before, name, labels);

    // 3 JSON requests and 2 streams to `default` (openai, gpt-4o-mini), 1 to `smart` (one failover),
    // 1 to `doomed` (fallback reply), 1 with a model name nobody configured, 1 refused for its key.
    for (let i = 0; i < 3; i++)
      assert.equal((await postJson(`${p.url}/v1/chat/completions`, { model: 'default', messages }, auth)).status, 200);
    for (let i = 0; i < 2; i++) {
      const res = await postJson(`${p.url}/v1/chat/completions`, { model: 'default', messages, stream: true }, auth);
      assert.equal(res.status, 200);
      await res.text();
    }
    assert.equal((await postJson(`${p.url}/v1/chat/completions`, { model: 'smart', messages }, auth)).status, 200);
    assert.equal((await postJson(`${p.url}/v1/chat/completions`, { model: 'doomed', messages }, auth)).status, 200);
    const stranger = 'client-chosen-model-name-x7';
    assert.equal((await postJson(`${p.url}/v1/chat/completions`, { model: stranger, messages }, auth)).status, 200);
    assert.equal((await postJson(`${p.url}/v1/chat/completions`, { model: 'default', messages })).status, 401);

    const dflt = { gen_ai_request_model: 'default', gen_ai_provider_name: 'openai', route: 'openai' };
    assert.equal(await delta('gen_ai_server_request_duration_seconds_count', { ...dflt, status: '200' }), 5);
    assert.equal(await delta('gen_ai_server_request_duration_seconds_count'), 8, 'the 401 is not a request record');
    assert.equal(await delta('gen_ai_server_time_to_first_token_seconds_count', dflt), 2, 'streams only');
    // The mock reports 11 prompt and 7 completion tokens per answer.
    assert.equal(await delta('gen_ai_client_token_usage_count', { ...dflt, gen_ai_token_type: 'input' }), 5);
    assert.equal(await delta('gen_ai_client_token_usage_sum', { ...dflt, gen_ai_token_type: 'input' }), 55);
    assert.equal(await delta('gen_ai_client_token_usage_sum', { ...dflt, gen_ai_token_type: 'output' }), 35);
    // Upstream calls: 5 + 2 (smart) + 1 (doomed) + 1 (the stranger) = 9; the 503s are failures by cause.
    assert.equal(await delta('parley_upstream_attempts_total'), 9);
    assert.equal(await delta('parley_upstream_failures_total', { gen_ai_provider_name: 'a', cause: 'http_503' }), 2);
    assert.equal(await delta('parley_fallbacks_total', { gen_ai_request_model: 'smart', kind: 'next_target' }), 1);
    assert.equal(await delta('parley_fallbacks_total', { gen_ai_request_model: 'doomed', kind: 'fallback_reply' }), 1);
    assert.equal(await delta('parley_fallbacks_total'), 2);

    const text = await scrape(p.url);
    assert.equal(sample(text, 'gen_ai_server_request_duration_seconds_count', { gen_ai_request_model: 'other' }), 1);
    assert.doesNotMatch(text, new RegExp(stranger), 'a model name no one configured is not a label value');
    assert.doesNotMatch(text, new RegExp(KEY), 'no key in the metrics');
    assert.doesNotMatch(text, /sk-up/);
    assert.equal(sample(text, 'parley_requests_in_flight'), 0);
    assert.equal(usage.records.length, 8, 'one record per metric observation');
  });

  it('counts a client that leaves mid-stream as a client abort', async () => {
    const before = await scrape(p.url);
    up.scenarios.set('slow-model', { kind: 'text', text: 'one two three four five six', delayMs: 200 });
    const p2 = await startParley(
      { PARLEY_API_KEYS: KEY },
      {
        providers: { a: { type: 'openai-compatible', baseUrl: up.url } },
        models: { slow: { provider: 'a', model: 'slow-model' } },
      },
    );
    try {
      const res = await postJson(`${p2.url}/v1/chat/completions`, { model: 'slow', messages, stream: true }, auth);
      const reader = res.body!.getReader();
      await reader.read();
      const during = await scrape(p2.url);
      assert.equal(sample(during, 'parley_requests_in_flight'), 1, 'the stream is in flight');
      await reader.cancel();
      for (let i = 0; i < 50 && sample(await scrape(p2.url), 'parley_client_aborts_total') === 0; i++)
        await new Promise((r) => setTimeout(r, 20));
      const text = await scrape(p2.url);
      assert.equal(sample(text, 'parley_client_aborts_total', { route: 'openai' }), 1);
      assert.equal(sample(text, 'parley_requests_in_flight'), 0);
    } finally {
      await p2.close();
      up.scenarios.delete('slow-model');
    }
    assert.equal(
      sample(await scrape(p.url), 'parley_client_aborts_total'),
      sample(before, 'parley_client_aborts_total'),
    );
  });

  it('lets the limits work count refusals by limit type', async () => {
    p.parley.metrics.rateLimitRefused('requests');
    p.parley.metrics.rateLimitRefused('requests');
    p.parley.metrics.rateLimitRefused('budget');
    const text = await scrape(p.url);
    assert.equal(sample(text, 'parley_rate_limit_refusals_total', { limit_type: 'requests' }), 2);
    assert.equal(sample(text, 'parley_rate_limit_refusals_total', { limit_type: 'budget' }), 1);
  });
});

describe('GET /metrics with PARLEY_METRICS_TOKEN', () => {
  let p: TestParley;
  before(async () => {
    p = await startParley({ PARLEY_METRICS_TOKEN: 'scrape-token-1' });
  });
  after(() => p?.close());

  it('needs the token as a Bearer credential', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }] as Record<string, string>[]) {
      const res = await fetch(`${p.url}/metrics`, { headers });
      assert.equal(res.status, 401);
      const body = await res.json();
      assert.equal(body.error.code, 'metrics_token_required');
      assert.match(body.error.message, /PARLEY_METRICS_TOKEN/);
    }
    const text = await scrape(p.url, { authorization: 'Bearer scrape-token-1' });
    assert.match(text, /# TYPE gen_ai_server_request_duration_seconds histogram/);
    assert.match(text, /# TYPE gen_ai_client_token_usage histogram/);
  });
});

describe('the usage writer in the metrics', () => {
  it("reports the writer's own counts at scrape time", async () => {
    const metrics = new Metrics([]);
    const counts = { pending: 3, written: 10, dropped: 2 };
    metrics.watchUsage(counts);
    let text = (await metrics.render()).body;
    assert.equal(sample(text, 'parley_usage_records_buffered'), 3);
    assert.equal(sample(text, 'parley_usage_records_written_total'), 10);
    assert.equal(sample(text, 'parley_usage_records_dropped_total'), 2);
    Object.assign(counts, { pending: 0, written: 13 });
    text = (await metrics.render()).body;
    assert.equal(sample(text, 'parley_usage_records_buffered'), 0);
    assert.equal(sample(text, 'parley_usage_records_written_total'), 13);
  });
});
