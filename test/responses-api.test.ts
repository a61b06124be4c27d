/**
 * The OpenAI Responses API with the official `openai` SDK as client, on every upstream family
 * (a table: the built-in model and the OpenAI-compatible mock now; one more entry per family).
 * Every streamed event and every response validates against the spec's schemas.
 * These suites run without a database (responses kept in memory); responses-store.test.ts runs
 * the stored state on the embedded database.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import type { FileConfig } from '../src/config/file.js';
import type { RequestRecord } from '../src/usage/record.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { assertSpec } from './helpers/openai-spec.js';
import { memorySink, postJson, startParley, type TestParley } from './helpers/parley.js';
import { checkResponse, checkResponseStream, responseEvents } from './helpers/responses-checks.js';

const KEY = 'sk-responses-one';
const OTHER_KEY = 'sk-responses-two';

interface Family {
  name: string;
  /** Starts what the family needs; returns Parley's env/config and the mock (null: no upstream to inspect). */
  start(): Promise<{ env: Record<string, string>; fileConfig?: FileConfig; mock: MockUpstream | null }>;
  /** Makes the upstream call `name` with these arguments next (the built-in model calls a forced tool by itself). */
  willCall(mock: MockUpstream | null, name: string, args: string): void;
  /** The messages the upstream received in its last request (null when there is none to see). */
  lastMessages(mock: MockUpstream | null): { role: string; content?: unknown; tool_calls?: unknown[]; tool_call_id?: string }[] | null;
}

const FAMILIES: Family[] = [
  {
    name: 'built-in model',
    async start() {
      return { env: {}, mock: null };
    },
    willCall() {},
    lastMessages: () => null,
  },
  {
    name: 'OpenAI-compatible upstream',
    async start() {
      const mock = await startMockUpstream();
      return {
        env: { OPENAI_API_KEY: 'sk-upstream-secret', OPENAI_BASE_URL: mock.url, DEFAULT_MODEL: 'gpt-4o-mini' },
        mock,
      };
    },
    willCall(mock, name, args) {
      mock!.scenarios.set('*', { kind: 'tool', name, args });
    },
    lastMessages: (mock) => (mock!.received.at(-1)!.body.messages as never) ?? null,
  },
];

/** The usage record of the request that made response `id` (written just after the answer). */
async function recordOf(records: RequestRecord[], _id: string): Promise<RequestRecord | undefined> {
  for (let i = 0; i < 100 && !records.some((x) => x.route === 'responses'); i++) await sleep(10);
  return records.find((x) => x.route === 'responses');
}

const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  },
  strict: true,
};

for (const family of FAMILIES) {
  describe(`Responses API — ${family.name}`, () => {
    let p: TestParley;
    let mock: MockUpstream | null;
    let client: OpenAI;
    let other: OpenAI;
    const usage = memorySink();
    before(async () => {
      const started = await family.start();
      mock = started.mock;
      p = await startParley({ ...started.env, PARLEY_API_KEYS: `${KEY},${OTHER_KEY}` }, started.fileConfig, {}, usage);
      client = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: KEY, maxRetries: 0 });
      other = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: OTHER_KEY, maxRetries: 0 });
    });
    after(async () => {
      await p.close();
      await mock?.close();
    });
    afterEach(() => {
      if (!mock) return;
      mock.received.length = 0;
      mock.scenarios.clear();
      mock.scenarios.set('*', { kind: 'text' });
    });

    it('responses.create answers a response object that validates against the spec', async () => {
      const r = await client.responses.create({ model: 'default', input: 'Tell me a joke', instructions: 'Be brief.' });
      const raw = JSON.parse(JSON.stringify(r));
      delete raw.output_text; // added by the SDK
      checkResponse(raw);
      assert.match(r.id, /^resp_/);
      assert.equal(r.object, 'response');
      assert.equal(r.status, 'completed');
      assert.equal(r.model, 'default');
      assert.equal(r.instructions, 'Be brief.');
      assert.ok(r.output_text.length > 0, 'text came back');
      assert.equal(r.output.length, 1);
      assert.match(r.output[0]!.id!, /^msg_/);
      assert.ok(r.usage && r.usage.input_tokens > 0 && r.usage.output_tokens > 0);
      assert.equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens);
      assert.equal(typeof r.usage.input_tokens_details.cached_tokens, 'number');
      assert.equal(typeof r.usage.output_tokens_details.reasoning_tokens, 'number');
      const sent = family.lastMessages(mock);
      if (sent) {
        assert.deepEqual(sent, [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Tell me a joke' },
        ]);
      }
    });

    it('is recorded as usage on the route "responses", with its tokens', async () => {
      usage.records.length = 0;
      const r = await client.responses.create({ model: 'default', input: 'Count my tokens' });
      const rec = await recordOf(usage.records, r.id);
      assert.ok(rec, 'one record on the responses route');
      assert.equal(rec.status, 200);
      assert.equal(rec.requestedModel, 'default');
      assert.equal(rec.keyId, 'env:0');
      assert.equal(rec.promptTokens, r.usage!.input_tokens);
      assert.equal(rec.completionTokens, r.usage!.output_tokens);
      assert.equal(rec.totalTokens, r.usage!.total_tokens);
    });
  });
}
