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

  async function expectError(
    body: unknown,
    status: number,
    param: string | null,
    headers: Record<string, string> = {},
  ) {
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

  it("refuses what OpenAI's API refuses, with OpenAI's wording and codes, where the spec's schema is looser", async () => {
    // Ranges the API enforces and documents (scripts/gen-openai-schemas.ts RANGE_OVERLAY).
    let e = await expectError({ ...ok, max_tokens: -5 }, 400, 'max_tokens');
    assert.equal(
      e.message,
      "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got -5 instead.",
    );
    assert.equal(e.code, 'integer_below_min_value');
    assert.equal((await expectError({ ...ok, max_tokens: 0 }, 400, 'max_tokens')).code, 'integer_below_min_value');
    await expectError({ ...ok, max_completion_tokens: 0 }, 400, 'max_completion_tokens');
    e = await expectError({ ...ok, logit_bias: { '50256': 101 } }, 400, 'logit_bias.50256');
    assert.equal(e.code, 'integer_above_max_value');
    await expectError({ ...ok, logit_bias: { '50256': -101 } }, 400, 'logit_bias.50256');
    const keys = (n: number, len = 3) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`.padEnd(len, 'x'), 'v']));
    e = await expectError({ ...ok, metadata: keys(17) }, 400, 'metadata');
    assert.match(e.message, /at most 16 properties, but got 17/);
    e = await expectError({ ...ok, metadata: keys(1, 65) }, 400, 'metadata');
    assert.match(e.message, /key '.{65}' too long\. Expected a string with maximum length 64/);
    e = await expectError({ ...ok, metadata: { note: 'x'.repeat(513) } }, 400, 'metadata.note');
    assert.equal(e.code, 'string_above_max_length');
    const tool = (name: string) => ({
      ...ok,
      tools: [{ type: 'function', function: { name, parameters: { type: 'object', properties: {} } } }],
    });
    e = await expectError(tool('get weather'), 400, 'tools.[0].function.name');
    assert.equal(
      e.message,
      "Invalid 'tools.[0].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
    );
    e = await expectError(tool('f'.repeat(65)), 400, 'tools.[0].function.name');
    assert.match(
      e.message,
      /string too long\. Expected a string with maximum length 64, but got a string with length 65 instead\./,
    );
    await expectError(
      { ...ok, response_format: { type: 'json_schema', json_schema: { name: 'my schema', schema: {} } } },
      400,
      'response_format.json_schema.name',
    );

    // Ranges the spec states, worded as OpenAI words them: "integer" or "decimal" by the parameter's type.
    e = await expectError({ ...ok, temperature: 3 }, 400, 'temperature');
    assert.equal(
      e.message,
      "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 3 instead.",
    );
    assert.equal(e.code, 'decimal_above_max_value');
    assert.equal((await expectError({ ...ok, n: 0 }, 400, 'n')).code, 'integer_below_min_value');
    assert.equal((await expectError({ ...ok, n: 129 }, 400, 'n')).code, 'integer_above_max_value');
    assert.equal((await expectError({ ...ok, top_p: 1.5 }, 400, 'top_p')).code, 'decimal_above_max_value');
    await expectError({ ...ok, presence_penalty: 2.5 }, 400, 'presence_penalty');
    await expectError({ ...ok, frequency_penalty: -3 }, 400, 'frequency_penalty');
    assert.equal(
      (await expectError({ ...ok, logprobs: true, top_logprobs: 21 }, 400, 'top_logprobs')).code,
      'integer_above_max_value',
    );
    // A limit the value broke is named rather than the type another branch of `stop` wanted.
    e = await expectError({ ...ok, stop: ['a', 'b', 'c', 'd', 'e'] }, 400, 'stop');
    assert.equal(
      e.message,
      "Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length 5 instead.",
    );
    assert.equal(e.code, 'array_above_max_length');
  });

  it('accepts every boundary value OpenAI accepts', async () => {
    const edges = {
      ...ok,
      max_tokens: 1,
      max_completion_tokens: 1,
      n: 128,
      temperature: 2,
      top_p: 0,
      presence_penalty: -2,
      frequency_penalty: 2,
      logprobs: true,
      top_logprobs: 20,
      logit_bias: { '1': -100, '2': 100 },
      stop: ['a', 'b', 'c', 'd'],
      metadata: {
        ...Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, 'v'])),
        ['k'.repeat(64)]: 'v'.repeat(512),
      },
      tools: [
        {
          type: 'function',
          function: { name: `Get_weather-2${'x'.repeat(50)}`, parameters: { type: 'object', properties: {} } },
        },
      ],
    };
    const res = await postJson(chat, edges);
    assert.equal(res.status, 200, await res.clone().text());
    await res.json();
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
    await expectError(
      { ...ok, tools: [{ type: 'function', function: { description: 'x' } }] },
      400,
      'tools.[0].function.name',
    );
    await expectError({ ...ok, tool_choice: 'sometimes' }, 400, 'tool_choice');
    await expectError({ ...ok, response_format: { type: 'yaml' } }, 400, 'response_format.type');
  });

  it('accepts a large base64 image part below the body limit', async () => {
    const image = `data:image/png;base64,${Buffer.alloc(3 * 1024 * 1024, 7)
      .toString('base64')
      .slice(0, 3 * 1024 * 1024)}`;
    const res = await postJson(chat, {
      model: 'default',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this?' },
            { type: 'image_url', image_url: { url: image } },
          ],
        },
      ],
    });
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
