/**
 * The Chat Completions → Anthropic Messages request mapping (src/providers/anthropic/request.ts),
 * each mapped body also checked by the mock's own validator, which refuses what the real API
 * refuses (the mock's refusals are tested first, so a passing check means something).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChatRequest } from '../src/protocol/chat.js';
import { ApiError } from '../src/protocol/errors.js';
import { defaultMaxTokens } from '../src/providers/anthropic/max-tokens.js';
import { JSON_OBJECT_INSTRUCTION, LEADING_USER_TEXT, messagesBody } from '../src/providers/anthropic/request.js';
import { requestProblem } from './helpers/mock-anthropic.js';

const opts = { provider: 'anthropic', model: 'claude-sonnet-4-5', stream: false };
const map = (req: Record<string, unknown>, o: Partial<typeof opts> & { defaultMaxTokens?: number } = {}) => {
  const body = messagesBody({ model: 'claude-sonnet-4-5', ...req } as unknown as ChatRequest, { ...opts, ...o });
  assert.equal(requestProblem(body), null, `the mock (like Anthropic) accepts ${JSON.stringify(body)}`);
  return body;
};
const refused = (req: Record<string, unknown>, param: string) => {
  assert.throws(
    () => messagesBody({ model: 'claude-sonnet-4-5', ...req } as unknown as ChatRequest, opts),
    (e: unknown) =>
      e instanceof ApiError && e.status === 400 && e.param === param && e.code === 'unsupported_parameter',
  );
};
const user = (content: unknown) => ({ role: 'user', content });
const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const time = { type: 'function', function: { name: 'get_time' } };
const call = (id: string, name: string, args: string) => ({
  id,
  type: 'function',
  function: { name, arguments: args },
});

describe('the mock refuses what Anthropic refuses', () => {
  const ok = { model: 'claude-x', max_tokens: 10, messages: [user('hi')] };
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['max_tokens missing', { model: 'm', messages: [user('hi')] }, /max_tokens: Field required/],
    ['an unknown top-level field', { ...ok, n: 2 }, /n: Extra inputs/],
    ['a system role inside messages', { ...ok, messages: [{ role: 'system', content: 's' }, user('hi')] }, /role/],
    [
      'the first message not the user’s',
      { ...ok, messages: [{ role: 'assistant', content: 'a' }, user('u')] },
      /first/,
    ],
    ['turns not alternating', { ...ok, messages: [user('a'), user('b')] }, /alternate/],
    ['an empty text block', { ...ok, messages: [user([{ type: 'text', text: '' }])] }, /non-empty/],
    ['a blank text block', { ...ok, messages: [user('  ')] }, /non-whitespace/],
    [
      'a tool_result answering nothing',
      { ...ok, messages: [user([{ type: 'tool_result', tool_use_id: 'toolu_x', content: 'r' }])] },
      /unexpected `tool_use_id`/,
    ],
    [
      'a tool_result after text',
      {
        ...ok,
        messages: [
          user('q'),
          { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] },
          user([
            { type: 'text', text: 'x' },
            { type: 'tool_result', tool_use_id: 't1' },
          ]),
        ],
      },
      /must come first/,
    ],
    [
      'a tool_use left unanswered',
      {
        ...ok,
        messages: [
          user('q'),
          { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] },
          user('no result'),
        ],
      },
      /without `tool_result`/,
    ],
    ['temperature above 1', { ...ok, temperature: 1.5 }, /temperature/],
    ['a whitespace-only stop sequence', { ...ok, stop_sequences: ['\n'] }, /non-whitespace/],
  ];
  for (const [what, body, message] of cases) {
    it(`refuses ${what}`, () => assert.match(requestProblem(body) ?? 'accepted', message));
  }
  it('accepts a well-formed request', () => assert.equal(requestProblem(ok), null));
});

describe('Chat Completions → Messages', () => {
  it('system and developer messages, wherever they are, become system blocks in order', () => {
    const body = map({
      messages: [
        { role: 'system', content: 'You are terse.' },
        user('Hi'),
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        { role: 'assistant', content: 'Bonjour' },
        { role: 'system', content: 'Never apologise.' },
        user('Ça va ?'),
      ],
    });
    assert.deepEqual(body.system, [
      { type: 'text', text: 'You are terse.' },
      { type: 'text', text: 'Answer in French.' },
      { type: 'text', text: 'Never apologise.' },
    ]);
    assert.deepEqual(
      (body.messages as { role: string }[]).map((m) => m.role),
      ['user', 'assistant', 'user'],
    );
  });

  it('merges consecutive same-role turns and drops empty and blank text', () => {
    const body = map({
      messages: [user('one'), user([{ type: 'text', text: 'two' }]), user(''), { role: 'assistant', content: ' ' }],
    });
    assert.deepEqual(body.messages, [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'one' },
          { type: 'text', text: 'two' },
        ],
      },
    ]);
  });

  it('puts a user turn before a conversation that starts with the assistant (Vapi’s greeting)', () => {
    const body = map({
      messages: [
        { role: 'system', content: 's' },
        { role: 'assistant', content: 'Hello!' },
      ],
    });
    assert.deepEqual(body.messages, [
      { role: 'user', content: [{ type: 'text', text: LEADING_USER_TEXT }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Hello!' }] },
    ]);
  });

  it('trims a final assistant prefill’s trailing whitespace', () => {
    const body = map({ messages: [user('q'), { role: 'assistant', content: 'The answer is ' }] });
    assert.deepEqual((body.messages as { content: unknown[] }[])[1]!.content, [
      { type: 'text', text: 'The answer is' },
    ]);
  });

  it('images: a data URL becomes a base64 source (jpg normalised), an https URL a url source', () => {
    const body = map({
      messages: [
        user([
          { type: 'text', text: 'What is in these?' },
          { type: 'image_url', image_url: { url: 'data:image/jpg;base64,/9j/4AAQ' } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'high' } },
          { type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } },
        ]),
      ],
    });
    assert.deepEqual((body.messages as { content: unknown[] }[])[0]!.content.slice(1), [
      { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } },
      { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
    ]);
    refused(
      { messages: [user([{ type: 'image_url', image_url: { url: 'data:image/tiff;base64,AAAA' } }])] },
      'messages.[0].content.[0].image_url.url',
    );
    refused(
      { messages: [user([{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }])] },
      'messages.[0].content.[0].type',
    );
  });

  it('assistant tool calls become tool_use blocks (no empty text block), results ONE user turn with results first (Portkey#980)', () => {
    const body = map({
      tools: [weather, time],
      messages: [
        user('Weather in Paris and Rome, and the time?'),
        {
          role: 'assistant',
          content: '',
          tool_calls: [
            call('toolu_1', 'get_weather', '{"city":"Paris"}'),
            call('toolu_2', 'get_weather', '{"city":"Rome"}'),
            call('toolu_3', 'get_time', ''),
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
        { role: 'tool', tool_call_id: 'toolu_2', content: [{ type: 'text', text: 'rain' }] },
        { role: 'tool', tool_call_id: 'toolu_3', content: '' },
        user('Thanks! And tomorrow?'),
      ],
    });
    const [, assistant, results] = body.messages as { role: string; content: unknown[] }[];
    assert.deepEqual(assistant!.content, [
      { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
      { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { city: 'Rome' } },
      { type: 'tool_use', id: 'toolu_3', name: 'get_time', input: {} },
    ]);
    assert.equal((body.messages as unknown[]).length, 3, 'one user turn carries every result');
    assert.deepEqual(results!.content, [
      { type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' },
      { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: 'rain' }] },
      { type: 'tool_result', tool_use_id: 'toolu_3' },
      { type: 'text', text: 'Thanks! And tomorrow?' },
    ]);
  });

  it('moves tool results before user text that came first in the same turn', () => {
    const body = map({
      tools: [weather],
      messages: [
        user('q'),
        { role: 'assistant', content: 'Checking.', tool_calls: [call('toolu_9', 'get_weather', '{"city":"Oslo"}')] },
        user('(waiting)'),
        { role: 'tool', tool_call_id: 'toolu_9', content: 'cold' },
      ],
    });
    const turns = body.messages as { content: { type: string }[] }[];
    assert.deepEqual(
      turns[1]!.content.map((b) => b.type),
      ['text', 'tool_use'],
    );
    assert.deepEqual(
      turns[2]!.content.map((b) => b.type),
      ['tool_result', 'text'],
    );
  });

  it('tools with their schema, description and strict; a tool without parameters gets an empty object schema', () => {
    const body = map({
      tools: [{ ...weather, function: { ...weather.function, strict: true } }, time],
      messages: [user('q')],
    });
    assert.deepEqual(body.tools, [
      {
        name: 'get_weather',
        description: 'Weather for a city',
        input_schema: weather.function.parameters,
        strict: true,
      },
      { name: 'get_time', input_schema: { type: 'object', properties: {} } },
    ]);
    refused({ tools: [{ type: 'custom', custom: { name: 'grammar' } }], messages: [user('q')] }, 'tools.[0].type');
  });

  it('the tool_choice matrix, with parallel_tool_calls: false → disable_parallel_tool_use', () => {
    const base = { tools: [weather, time], messages: [user('q')] };
    const cases: [unknown, boolean | undefined, unknown][] = [
      [undefined, undefined, undefined],
      [undefined, false, { type: 'auto', disable_parallel_tool_use: true }],
      ['auto', undefined, { type: 'auto' }],
      ['auto', false, { type: 'auto', disable_parallel_tool_use: true }],
      ['required', undefined, { type: 'any' }],
      ['required', false, { type: 'any', disable_parallel_tool_use: true }],
      ['required', true, { type: 'any' }],
      ['none', undefined, { type: 'none' }],
      ['none', false, { type: 'none' }],
      [{ type: 'function', function: { name: 'get_time' } }, undefined, { type: 'tool', name: 'get_time' }],
      [
        { type: 'function', function: { name: 'get_time' } },
        false,
        { type: 'tool', name: 'get_time', disable_parallel_tool_use: true },
      ],
    ];
    for (const [choice, parallel, expected] of cases) {
      const body = map({ ...base, tool_choice: choice, parallel_tool_calls: parallel });
      assert.deepEqual(body.tool_choice, expected, `tool_choice ${JSON.stringify(choice)}, parallel ${parallel}`);
    }
    const allowed = map({
      ...base,
      tool_choice: {
        type: 'allowed_tools',
        allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: 'get_time' } }] },
      },
    });
    assert.deepEqual(allowed.tool_choice, { type: 'any' });
    assert.deepEqual(
      (allowed.tools as { name: string }[]).map((t) => t.name),
      ['get_time'],
    );
    const noTools = map({ messages: [user('q')], tool_choice: 'none', parallel_tool_calls: false });
    assert.equal('tool_choice' in noTools || 'tools' in noTools, false, 'nothing about tools without tools');
  });

  it('stop → stop_sequences, user → metadata.user_id, top_p passes, temperature above 1 is clamped to 1', () => {
    assert.deepEqual(map({ messages: [user('q')], stop: 'END' }).stop_sequences, ['END']);
    assert.deepEqual(map({ messages: [user('q')], stop: ['a', 'b'] }).stop_sequences, ['a', 'b']);
    assert.deepEqual(
      map({ messages: [user('q')], stop: ['\n', 'b'] }).stop_sequences,
      ['b'],
      'whitespace-only left out',
    );
    assert.equal('stop_sequences' in map({ messages: [user('q')], stop: '\n\n' }), false);
    assert.equal('stop_sequences' in map({ messages: [user('q')], stop: null }), false);
    assert.deepEqual(map({ messages: [user('q')], user: 'user-42' }).metadata, { user_id: 'user-42' });
    assert.deepEqual(map({ messages: [user('q')], safety_identifier: 'sid', user: 'u' }).metadata, { user_id: 'sid' });
    assert.equal(map({ messages: [user('q')], top_p: 0.9 }).top_p, 0.9);
    assert.equal(map({ messages: [user('q')], temperature: 1.7 }).temperature, 1);
    assert.equal(map({ messages: [user('q')], temperature: 0.3 }).temperature, 0.3);
  });

  it('OpenAI parameters Anthropic has no use for are left out, and the body has only fields Anthropic knows', () => {
    const body = map({
      messages: [user('q')],
      logprobs: true,
      top_logprobs: 2,
      presence_penalty: 0.5,
      frequency_penalty: 0.5,
      logit_bias: { '50256': -100 },
      seed: 7,
      store: true,
      reasoning_effort: 'low',
      service_tier: 'auto',
      stream_options: { include_usage: true },
      prompt_cache_key: 'k',
      metadata: { a: 'b' },
      n: 1,
    });
    assert.deepEqual(Object.keys(body).sort(), ['max_tokens', 'messages', 'model']);
  });

  it('max_tokens: max_completion_tokens, else max_tokens, else the provider’s default, else the family table', () => {
    assert.equal(map({ messages: [user('q')], max_completion_tokens: 100, max_tokens: 50 }).max_tokens, 100);
    assert.equal(map({ messages: [user('q')], max_tokens: 50 }).max_tokens, 50);
    assert.equal(map({ messages: [user('q')] }, { defaultMaxTokens: 1234 }).max_tokens, 1234);
    assert.equal(map({ messages: [user('q')] }).max_tokens, 8192);
    assert.equal(map({ messages: [user('q')] }, { model: 'claude-3-haiku-20240307' }).max_tokens, 4096);
    assert.equal(defaultMaxTokens('claude-3-opus-latest'), 4096);
    assert.equal(defaultMaxTokens('claude-3-5-haiku-latest'), 8192);
    assert.equal(defaultMaxTokens('claude-3-7-sonnet-20250219'), 8192);
    assert.equal(defaultMaxTokens('claude-opus-4-1'), 8192);
    assert.equal(defaultMaxTokens('my-private-deployment'), 4096);
  });

  it('response_format: json_schema → output_config.format, json_object → an instruction in system', () => {
    const schema = {
      type: 'object',
      properties: { a: { type: 'string' } },
      required: ['a'],
      additionalProperties: false,
    };
    const structured = map({
      messages: [user('q')],
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema, strict: true } },
    });
    assert.deepEqual(structured.output_config, { format: { type: 'json_schema', schema } });
    const json = map({
      messages: [{ role: 'system', content: 's' }, user('q')],
      response_format: { type: 'json_object' },
    });
    assert.deepEqual(json.system, [
      { type: 'text', text: 's' },
      { type: 'text', text: JSON_OBJECT_INSTRUCTION },
    ]);
    assert.equal('output_config' in map({ messages: [user('q')], response_format: { type: 'text' } }), false);
  });

  it('refuses what Anthropic cannot carry with a 400 naming the parameter', () => {
    refused({ messages: [user('q')], n: 3 }, 'n');
    refused({ messages: [user('q')], functions: [{ name: 'f' }] }, 'functions');
    refused({ messages: [user('q')], function_call: 'auto' }, 'function_call');
    refused({ messages: [{ role: 'function', name: 'f', content: 'x' }] }, 'messages.[0].role');
    refused(
      { messages: [user('q'), { role: 'assistant', tool_calls: [call('toolu_1', 'f', '[1,2]')] }] },
      'messages.[1].tool_calls.[0].function.arguments',
    );
  });

  it('stream: true only when streaming', () => {
    assert.equal(map({ messages: [user('q')] }, { stream: true }).stream, true);
    assert.equal('stream' in map({ messages: [user('q')], stream: false }), false);
  });
});
