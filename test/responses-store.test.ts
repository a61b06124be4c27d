/**
 * Stored Responses API state in the database, on the embedded database and (with
 * PARLEY_TEST_DATABASE_URL) PostgreSQL: previous_response_id over three turns reaches the
 * upstream as the whole history, retrieve/input_items/delete see only the creating key's rows,
 * store:false writes no row, the usage record names the route, and retention deletes old rows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import pino from 'pino';
import { startRetention } from '../src/protocols/responses/retention.js';
import { type MockUpstream, startMockUpstream } from './helpers/mock-upstream.js';
import { needs } from './helpers/prerequisites.js';
import { backends, eventually, gql, type StoreParley, startStoreParley } from './helpers/store.js';

const KEY = 'sk-store-one';
const OTHER = 'sk-store-two';
const ADMIN = 'sk-store-admin';

for (const backend of backends()) {
  describe(`stored responses on ${backend.name}`, {
    skip: needs(`the ${backend.name} backend`, backend.unavailable),
  }, () => {
    let mock: MockUpstream;
    let p: StoreParley;
    let client: OpenAI;
    let other: OpenAI;
    before(async () => {
      mock = await startMockUpstream();
      p = await startStoreParley({
        ...(await backend.fresh()),
        PARLEY_API_KEYS: `${KEY},${OTHER}`,
        OPENAI_API_KEY: 'sk-upstream',
        OPENAI_BASE_URL: mock.url,
        DEFAULT_MODEL: 'gpt-4o-mini',
        PARLEY_USAGE_FLUSH_MS: '20',
        PARLEY_ADMIN_KEY: ADMIN,
      });
      client = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: KEY, maxRetries: 0 });
      other = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: OTHER, maxRetries: 0 });
    });
    after(async () => {
      await p?.close();
      await mock?.close();
      await backend.cleanup();
    });

    it('previous_response_id over three turns (JSON, stream, JSON): the upstream receives the whole history', async () => {
      mock.scenarios.set('*', { kind: 'text', text: 'Nice to meet you, Ada.' });
      const one = await client.responses.create({ model: 'default', input: 'My name is Ada.' });
      mock.scenarios.set('*', { kind: 'text', text: 'Tea is lovely.' });
      const two = await client.responses
        .stream({ model: 'default', input: 'I like tea.', previous_response_id: one.id })
        .finalResponse();
      mock.scenarios.set('*', { kind: 'text', text: 'You are Ada.' });
      const three = await client.responses.create({
        model: 'default',
        input: 'What is my name?',
        previous_response_id: two.id,
      });
      assert.equal(three.output_text, 'You are Ada.');
      assert.deepEqual(mock.received.at(-1)!.body.messages, [
        { role: 'user', content: 'My name is Ada.' },
        { role: 'assistant', content: 'Nice to meet you, Ada.' },
        { role: 'user', content: 'I like tea.' },
        { role: 'assistant', content: 'Tea is lovely.' },
        { role: 'user', content: 'What is my name?' },
      ]);
      const row = await p.store.db.prisma.storedResponse.findUnique({ where: { id: three.id } });
      assert.ok(row, 'the third turn is stored');
      assert.equal(row.keyId, 'env:0');
      assert.equal(row.previousResponseId, two.id);
      assert.equal((row.response as { status: string }).status, 'completed');
    });

    it('retrieve, input_items and delete, for the creating key only', async () => {
      mock.scenarios.set('*', { kind: 'text' });
      const r = await client.responses.create({
        model: 'default',
        input: [
          { role: 'user', content: 'a' },
          { role: 'user', content: 'b' },
        ],
      });
      assert.deepEqual((await client.responses.retrieve(r.id)).output, r.output);
      const items = await client.responses.inputItems.list(r.id, { order: 'asc' });
      assert.deepEqual(
        items.data.map((i) => (i.type === 'message' ? (i.content[0] as { text: string }).text : null)),
        ['a', 'b'],
      );
      await assert.rejects(other.responses.retrieve(r.id), (e: unknown) => e instanceof OpenAI.NotFoundError);
      await assert.rejects(other.responses.delete(r.id), (e: unknown) => e instanceof OpenAI.NotFoundError);
      await assert.rejects(
        other.responses.create({ model: 'default', input: 'x', previous_response_id: r.id }),
        (e: unknown) => e instanceof OpenAI.NotFoundError,
      );
      await client.responses.delete(r.id);
      assert.equal(await p.store.db.prisma.storedResponse.count({ where: { id: r.id } }), 0);
      await assert.rejects(client.responses.retrieve(r.id), (e: unknown) => e instanceof OpenAI.NotFoundError);
    });

    it('store: false writes no row; the usage record names the route "responses" with its tokens', async () => {
      const before = await p.store.db.prisma.storedResponse.count();
      const records = () => p.store.db.prisma.requestLog.count({ where: { route: 'responses' } });
      await eventually(async () => (await records()) >= 5, 'the earlier usage records');
      const recordsBefore = await records();
      const r = await client.responses.create({ model: 'default', input: 'off the record', store: false });
      assert.equal(await p.store.db.prisma.storedResponse.count(), before);
      await eventually(async () => (await records()) > recordsBefore, 'the usage record');
      const rec = await p.store.db.prisma.requestLog.findFirst({
        where: { route: 'responses' },
        orderBy: { createdAt: 'desc' },
      });
      assert.equal(rec?.status, 200);
      assert.equal(rec?.keyId, 'env:0');
      assert.equal(rec?.promptTokens, r.usage!.input_tokens);
      assert.equal(rec?.completionTokens, r.usage!.output_tokens);
      assert.equal(rec?.totalTokens, r.usage!.total_tokens);
      const logs = await gql(
        p.url,
        '{ requestLogs(filter: { route: responses }) { nodes { route } } }',
        undefined,
        ADMIN,
      );
      assert.equal(logs.body.errors, undefined, JSON.stringify(logs.body.errors));
      assert.ok(logs.body.data?.requestLogs.nodes.length > 0);
      assert.ok(logs.body.data?.requestLogs.nodes.every((n: { route: string }) => n.route === 'responses'));
    });

    it('retention deletes responses older than PARLEY_RESPONSES_RETENTION_DAYS and keeps the rest', async () => {
      const fresh = await client.responses.create({ model: 'default', input: 'keep me' });
      const old = await client.responses.create({ model: 'default', input: 'old news' });
      await p.store.db.prisma.storedResponse.update({
        where: { id: old.id },
        data: { createdAt: new Date(Date.now() - 31 * 24 * 3600 * 1000) },
      });
      const retention = startRetention(p.store.responses, p.settings.responsesRetentionDays, pino({ level: 'silent' }));
      try {
        assert.equal(await retention.sweep(), 1);
      } finally {
        retention.stop();
      }
      assert.equal(await p.store.db.prisma.storedResponse.count({ where: { id: old.id } }), 0);
      assert.equal((await client.responses.retrieve(fresh.id)).id, fresh.id);
      assert.equal(p.settings.responsesRetentionDays, 30, 'the documented default');
    });
  });
}
