/** Bad input gets OpenAI's 4xx with a `param` naming the field, never a 500 or a hang. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertSpec } from './helpers/openai-spec.js';
import { postJson, startParley, type TestParley } from './helpers/parley.js';

describe('request validation', () => {
  let p: TestParley;
  let chat: string;
  before(async () => {
    p = await startParley({ PARLEY_BODY_LIMIT_BYTES: String(4 * 1024 * 1024) });
    chat = `${p.url}/v1/chat/completions`;
  });
  after(() => p.close());

  async function expectError(body: unknown, status: number, param: string | null, headers: Record<string, string> = {}) {
    const res = await postJson(chat, body, headers);
    assert.equal(res.status, status, `status for ${JSON.stringify(body).slice(0, 120)}`);
    const json = await res.json();
    assertSpec('ErrorResponse', json);
    assert.equal(json.error.param, param, `param for ${JSON.stringify(body).slice(0, 120)}: ${json.error.message}`);
    return json.error as { message: string; type: string; code: string | null };
  }

  const ok = { model: 'default', messages: [{ role: 'user', content: 'hi' }] };

  it('rejects malformed JSON with 400', async () => {
    const e = await expectError('{"model": "default", "messages": [', 400, null);
    assert.equal(e.type, 'invalid_request_error');
    assert.match(e.message, /parse the JSON body/);
  });

  it('rejects an empty body and a non-object body', async () => {
    await expectError('', 400, null);
    const e = await expectError('[1,2]', 400, null);
    assert.match(e.message, /object/);
  });

  it('names missing and empty messages', async () => {
    const missing = await expectError({ model: 'default' }, 400, 'messages');
    assert.equal(missing.code, 'missing_required_parameter');
    const empty = await expectError({ model: 'default', messages: [] }, 400, 'messages');
    assert.match(empty.message, /empty array/);
    await expectError({ messages: ok.messages }, 400, 'model');
  });

  it('names wrong types and out-of-range values', async () => {
    await expectError({ ...ok, temperature: 'hot' }, 400, 'temperature');
    await expectError({ ...ok, temperature: 3 }, 400, 'temperature');
    await expectError({ ...ok, top_p: -1 }, 400, 'top_p');
    await expectError({ ...ok, n: 0 }, 400, 'n');
    await expectError({ ...ok, max_tokens: 1.5 }, 400, 'max_tokens');
    await expectError({ ...ok, stream: 'yes' }, 400, 'stream');
    await expectError({ ...ok, stop: ['a', 'b', 'c', 'd', 'e'] }, 400, 'stop');
    await expectError({ ...ok, stream_options: { include_usage: 'yes' } }, 400, 'stream_options.include_usage');
    await expectError({ ...ok, messages: 'hi' }, 400, 'messages');
  });

  it('names an unknown role and a bad message part', async () => {
    const e = await expectError({ ...ok, messages: [{ role: 'robot', content: 'x' }] }, 400, 'messages.[0].role');
    assert.match(e.message, /robot/);
    await expectError({ ...ok, messages: [{ content: 'x' }] }, 400, 'messages.[0].role');
    await expectError({ ...ok, messages: [ok.messages[0], { role: 'user' }] }, 400, 'messages.[1].content');
    await expectError({ ...ok, messages: [{ role: 'user', content: 42 }] }, 400, 'messages.[0].content');
    await expectError({ ...ok, messages: [{ role: 'tool', content: 'x' }] }, 400, 'messages.[0].tool_call_id');
  });

  it('checks tools and tool_choice', async () => {
    await expectError({ ...ok, tools: [{ type: 'function' }] }, 400, 'tools.[0].function');
    await expectError({ ...ok, tools: [{ type: 'function', function: { description: 'x' } }] }, 400, 'tools.[0].function.name');
    await expectError({ ...ok, tool_choice: 'sometimes' }, 400, 'tool_choice');
    await expectError({ ...ok, response_format: { type: 'yaml' } }, 400, 'response_format.type');
  });

  it('accepts a large base64 image part below the body limit', async () => {
    const image = `data:image/png;base64,${Buffer.alloc(3 * 1024 * 1024, 7).toString('base64').slice(0, 3 * 1024 * 1024)}`;
    const res = await postJson(chat, { model: 'default', messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: image } }] }] });
    assert.equal(res.status, 200);
  });

  it('answers 413 for a body over the limit', async () => {
    const huge = 'x'.repeat(5 * 1024 * 1024);
    const e = await expectError({ ...ok, messages: [{ role: 'user', content: huge }] }, 413, null);
    assert.equal(e.code, 'request_too_large');
  });

  it('answers 400 for a text body and 415 for a content type it cannot read', async () => {
    let res = await fetch(chat, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    assert.equal(res.status, 400);
    let body = await res.json();
    assertSpec('ErrorResponse', body);
    assert.match(body.error.message, /expected object/);
    res = await fetch(chat, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<a/>' });
    assert.equal(res.status, 415);
    body = await res.json();
    assertSpec('ErrorResponse', body);
    assert.equal(body.error.code, 'unsupported_media_type');
  });

  it('404s unknown routes in the envelope', async () => {
    const res = await fetch(`${p.url}/v1/nope`);
    assert.equal(res.status, 404);
    const body = await res.json();
    assertSpec('ErrorResponse', body);
    assert.match(body.error.message, /Unknown request URL: GET \/v1\/nope/);
  });
});
