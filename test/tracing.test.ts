/**
 * OpenTelemetry traces (issue 15): with OTEL_EXPORTER_OTLP_ENDPOINT set, an in-process OTLP/HTTP
 * collector receives one server span per request (GenAI attributes, the caller's traceparent as
 * parent) and a client span per upstream attempt, whose traceparent the upstream received. Off,
 * no traceparent goes upstream and the SDK is not even imported.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { startMockAnthropic } from './helpers/mock-anthropic.js';
import { startMockGemini } from './helpers/mock-gemini.js';
import { startMockUpstream } from './helpers/mock-upstream.js';
import { postJson, startParley } from './helpers/parley.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
  status?: { code?: number };
}

/** A collector speaking OTLP/HTTP with JSON bodies, as @opentelemetry/exporter-trace-otlp-http sends them. */
async function startCollector(): Promise<{ url: string; spans: OtlpSpan[]; server: Server; resources: unknown[] }> {
  const spans: OtlpSpan[] = [];
  const resources: unknown[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !/json/.test(req.headers['content-type'] ?? '')) {
        res.writeHead(400).end();
        return;
      }
      const data = JSON.parse(body) as {
        resourceSpans: { resource: unknown; scopeSpans: { spans: OtlpSpan[] }[] }[];
      };
      for (const rs of data.resourceSpans) {
        resources.push(rs.resource);
        for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, server, resources };
}

const attr = (s: OtlpSpan, key: string): unknown => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  const raw = v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue;
  return typeof raw === 'string' && 'intValue' in v ? Number(raw) : raw;
};

const messages = [{ role: 'user', content: 'hi' }];
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

describe('OpenTelemetry traces', () => {
  it('exports a request span under the caller’s trace, with a child span per upstream attempt', async () => {
    const collector = await startCollector();
    const up = await startMockUpstream();
    up.scenarios.set('broken-model', { kind: 'error', status: 503 });
    const p = await startParley(
      { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'parley-under-test' },
      {
        providers: { a: { type: 'openai-compatible', baseUrl: up.url } },
        models: {
          smart: {
            targets: [
              { provider: 'a', model: 'broken-model' },
              { provider: 'a', model: 'good-model' },
            ],
          },
        },
      },
    );
    try {
      const res = await postJson(
        `${p.url}/v1/chat/completions`,
        { model: 'smart', messages, stream: true },
        { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, 'x-request-id': 'traced-1' },
      );
      assert.equal(res.status, 200);
      await res.text();
    } finally {
      // Shutdown exports the spans still batched.
      await p.close();
    }
    try {
      const server = collector.spans.filter((s) => s.kind === 2);
      const clients = collector.spans.filter((s) => s.kind === 3);
      assert.equal(server.length, 1, 'one span per request');
      const req = server[0]!;
      assert.equal(req.traceId, TRACE_ID, "the caller's trace");
      assert.equal(req.parentSpanId, PARENT_ID, "the caller's span is the parent");
      assert.equal(req.name, 'chat smart');
      assert.equal(attr(req, 'gen_ai.operation.name'), 'chat');
      assert.equal(attr(req, 'gen_ai.request.model'), 'smart');
      assert.equal(attr(req, 'gen_ai.provider.name'), 'a');
      assert.equal(attr(req, 'gen_ai.usage.input_tokens'), 11);
      assert.equal(attr(req, 'gen_ai.usage.output_tokens'), 7);
      assert.equal(attr(req, 'http.response.status_code'), 200);
      assert.equal(attr(req, 'http.route'), '/v1/chat/completions');
      assert.equal(attr(req, 'parley.request_id'), 'traced-1');

      assert.equal(clients.length, 2, 'one span per upstream attempt');
      for (const c of clients) {
        assert.equal(c.traceId, TRACE_ID);
        assert.equal(c.parentSpanId, req.spanId);
        assert.equal(attr(c, 'gen_ai.provider.name'), 'a');
      }
      const [failed, ok] = [
        clients.find((c) => attr(c, 'gen_ai.request.model') === 'broken-model')!,
        clients.find((c) => attr(c, 'gen_ai.request.model') === 'good-model')!,
      ];
      assert.equal(failed.status?.code, 2, 'the failed attempt is an error');
      assert.equal(attr(failed, 'error.type'), 'http_503');
      assert.notEqual(ok.status?.code, 2);

      // Each attempt's own span went upstream as its traceparent.
      assert.deepEqual(
        up.received.map((r) => r.headers.traceparent),
        [`00-${TRACE_ID}-${failed.spanId}-01`, `00-${TRACE_ID}-${ok.spanId}-01`],
      );
      assert.match(JSON.stringify(collector.resources), /parley-under-test/);
      // No key, no message text in what was exported.
      assert.doesNotMatch(JSON.stringify(collector.spans), /"hi"/);
    } finally {
      await up.close();
      collector.server.close();
    }
  });

  it('sends each attempt its traceparent on the Anthropic and Gemini providers too', async () => {
    const collector = await startCollector();
    const claude = await startMockAnthropic();
    const google = await startMockGemini();
    claude.scenarios.set('*', { kind: 'http-error', status: 529, type: 'overloaded_error' });
    const p = await startParley(
      { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url },
      {
        providers: {
          claude: { type: 'anthropic', baseUrl: claude.url, apiKey: 'sk-ant-test' },
          google: { type: 'gemini', baseUrl: google.url, apiKey: google.apiKey },
        },
        models: {
          voice: {
            targets: [
              { provider: 'claude', model: 'claude-haiku-4-5' },
              { provider: 'google', model: 'gemini-2.5-flash' },
            ],
          },
        },
      },
    );
    try {
      const res = await postJson(
        `${p.url}/v1/chat/completions`,
        { model: 'voice', messages },
        { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` },
      );
      assert.equal(res.status, 200);
      await res.text();
    } finally {
      await p.close();
    }
    try {
      const attempts = collector.spans.filter((s) => s.kind === 3);
      const spanOf = (provider: string) => attempts.find((c) => attr(c, 'gen_ai.provider.name') === provider)!.spanId;
      assert.equal(claude.received[0]?.headers.traceparent, `00-${TRACE_ID}-${spanOf('claude')}-01`);
      assert.equal(google.received[0]?.headers.traceparent, `00-${TRACE_ID}-${spanOf('google')}-01`);
    } finally {
      await claude.close();
      await google.close();
      collector.server.close();
    }
  });

  it('starts a new trace when the request has no traceparent or a malformed one', async () => {
    const collector = await startCollector();
    const p = await startParley({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url });
    try {
      for (const traceparent of [undefined, 'garbage']) {
        const headers: Record<string, string> = traceparent ? { traceparent } : {};
        assert.equal(
          (await postJson(`${p.url}/v1/chat/completions`, { model: 'default', messages }, headers)).status,
          200,
        );
      }
    } finally {
      await p.close();
      collector.server.close();
    }
    const server = collector.spans.filter((s) => s.kind === 2);
    assert.equal(server.length, 2);
    for (const s of server) {
      assert.match(s.traceId, /^[0-9a-f]{32}$/);
      assert.ok(!s.parentSpanId, 'a root span');
      assert.equal(attr(s, 'gen_ai.provider.name'), 'builtin');
    }
  });

  it('is off without OTEL_EXPORTER_OTLP_ENDPOINT: nothing goes upstream, and only a dynamic import names the SDK', async () => {
    const up = await startMockUpstream();
    const p = await startParley({ OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: up.url });
    try {
      const res = await postJson(
        `${p.url}/v1/chat/completions`,
        { model: 'default', messages },
        {
          traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`,
        },
      );
      assert.equal(res.status, 200);
      assert.equal(up.received[0]!.headers.traceparent, undefined);
    } finally {
      await p.close();
      await up.close();
    }
    // Which source files import OpenTelemetry, and how: the SDK only through tracing/otel.ts,
    // which only tracing/tracer.ts loads, with import() when tracing is on.
    const src = join(import.meta.dirname, '../src');
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? (e.name === 'generated' ? [] : files(join(dir, e.name))) : [join(dir, e.name)],
      );
    const importers = files(src)
      .filter((f) => /from '@opentelemetry\//.test(readFileSync(f, 'utf8')))
      .map((f) => relative(src, f));
    assert.deepEqual(importers, ['tracing/otel.ts']);
    const loaders = files(src)
      .filter((f) => /otel\.js'/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(src, f));
    assert.deepEqual(loaders, ['tracing/tracer.ts']);
    assert.match(readFileSync(join(src, 'tracing/tracer.ts'), 'utf8'), /await import\('\.\/otel\.js'\)/);
    assert.doesNotMatch(readFileSync(join(src, 'tracing/tracer.ts'), 'utf8'), /^import .*otel\.js/m);
  });
});
