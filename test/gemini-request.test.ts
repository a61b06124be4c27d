/**
 * What Parley sends Gemini for an OpenAI request, read from the mock's records (the mock also
 * refuses anything the real API would): system and developer messages, merged turns, tool
 * calls and results, tools and tool_choice, generation settings, images (data URLs and URLs
 * fetched from a local server), and the 400s for what Gemini cannot carry.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { readSettings } from '../src/config/env.js';
import { createProviders } from '../src/providers/create-providers.js';
import { sniffImage } from '../src/providers/gemini/images.js';
import { GeminiProvider } from '../src/providers/gemini/index.js';
import { buildRouter } from '../src/routing/router.js';
import { createParley } from '../src/server.js';
import { type MockGemini, startMockGemini } from './helpers/mock-gemini.js';
import { postJson, startParley, type TestParley } from './helpers/parley.js';

const KEY = 'sk-gemini-request';
const headers = { authorization: `Bearer ${KEY}` };
// The smallest real images of each kind (their first bytes are what matters).
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]);
const GIF = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00', 'latin1');
const WEBP = Buffer.concat([Buffer.from('RIFF'), Buffer.from([0x1a, 0, 0, 0]), Buffer.from('WEBPVP8 ')]);

type Body = Record<string, unknown> & {
  contents: { role: string; parts: Record<string, unknown>[] }[];
  systemInstruction?: { parts: { text: string }[] };
  generationConfig?: Record<string, unknown>;
  toolConfig?: { functionCallingConfig: Record<string, unknown> };
  tools?: { functionDeclarations: Record<string, unknown>[] }[];
};

const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    },
  },
};
const now = { type: 'function', function: { name: 'now' } };
const b2messages = [
  { role: 'user', content: 'Time?' },
  { role: 'assistant', tool_calls: [{ id: 'c9', type: 'function', function: { name: 'now', arguments: '{}' } }] },
  { role: 'tool', tool_call_id: 'c9', content: '12:00' },
];

describe('OpenAI requests as Gemini requests', () => {
  let g: MockGemini;
  let p: TestParley;
  before(async () => {
    g = await startMockGemini();
    p = await startParley({ PARLEY_API_KEYS: KEY, GEMINI_API_KEY: g.apiKey, GEMINI_BASE_URL: g.url });
  });
  after(async () => {
    await p.close();
    await g.close();
  });

  /** Sends the request and returns what Gemini received. */
  const sent = async (body: Record<string, unknown>, status = 200): Promise<Body> => {
    const before = g.received.length;
    const res = await postJson(`${p.url}/v1/chat/completions`, { model: 'gemini-2.5-flash', ...body }, headers);
    const text = await res.text();
    assert.equal(res.status, status, text);
    assert.equal(g.received.length, before + 1, 'one request reached Gemini');
    return g.received.at(-1)!.body as Body;
  };
  const refused = async (body: Record<string, unknown>, param: string, pattern: RegExp) => {
    const before = g.received.length;
    const res = await postJson(`${p.url}/v1/chat/completions`, { model: 'gemini-2.5-flash', ...body }, headers);
    const err = ((await res.json()) as { error: { param: string; message: string; type: string } }).error;
    assert.equal(res.status, 400, JSON.stringify(err));
    assert.equal(err.type, 'invalid_request_error');
    assert.equal(err.param, param);
    assert.match(err.message, pattern);
    assert.equal(g.received.length, before, 'nothing reached Gemini');
  };

  it('system and developer messages anywhere become systemInstruction parts in order; same-role turns merge', async () => {
    const b = await sent({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        { role: 'user', content: [{ type: 'text', text: 'Weather?' }] },
        { role: 'assistant', content: 'Bonjour.' },
        { role: 'assistant', content: '' },
        { role: 'system', content: 'Never mention the weather service.' },
        { role: 'user', content: 'Merci.' },
      ],
      user: 'end-user-42',
    });
    assert.deepEqual(b.systemInstruction, {
      parts: [{ text: 'Be brief.' }, { text: 'Answer in French.' }, { text: 'Never mention the weather service.' }],
    });
    assert.deepEqual(b.contents, [
      { role: 'user', parts: [{ text: 'Hi.' }, { text: 'Weather?' }] },
      { role: 'model', parts: [{ text: 'Bonjour.' }] },
      { role: 'user', parts: [{ text: 'Merci.' }] },
    ]);
    assert.equal(JSON.stringify(b).includes('end-user-42'), false, '`user` is not sent');
  });

  it('assistant tool_calls → functionCall parts (no empty text); tool results → one user turn of named functionResponses', async () => {
    const b = await sent({
      model: 'gemini-3-flash', // a history without signatures gets Google's validator skip on Gemini 3
      messages: [
        { role: 'user', content: 'Weather in Paris, and the time?' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_b', type: 'function', function: { name: 'now', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_a', content: '{"temp":21,"sky":"clear"}' },
        { role: 'tool', tool_call_id: 'call_b', content: '12:00' },
        { role: 'user', content: 'Thanks!' },
      ],
      tools: [weather, now],
    });
    assert.deepEqual(b.contents[1], {
      role: 'model',
      parts: [
        {
          functionCall: { name: 'get_weather', args: { city: 'Paris' } },
          thoughtSignature: 'skip_thought_signature_validator',
        },
        { functionCall: { name: 'now', args: {} } },
      ],
    });
    assert.deepEqual(b.contents[2], {
      role: 'user',
      parts: [
        { functionResponse: { name: 'get_weather', response: { temp: 21, sky: 'clear' } } },
        { functionResponse: { name: 'now', response: { result: '12:00' } } },
        { text: 'Thanks!' },
      ],
    });
    assert.equal(b.contents.length, 3);
    const older = await sent({ messages: b2messages });
    assert.deepEqual(older.contents[1]!.parts[0], { functionCall: { name: 'now', args: {} } }, 'Gemini 2 gets no skip');
  });

  it('a tool message answering no known call, or arguments that are not JSON, are 400s naming the field', async () => {
    await refused(
      {
        messages: [
          { role: 'user', content: 'x' },
          { role: 'tool', tool_call_id: 'call_nowhere', content: 'r' },
        ],
      },
      'messages.[1].tool_call_id',
      /call_nowhere/,
    );
    await refused(
      {
        messages: [
          { role: 'user', content: 'x' },
          {
            role: 'assistant',
            tool_calls: [{ id: 'c', type: 'function', function: { name: 'now', arguments: '{oops' } }],
          },
          { role: 'tool', tool_call_id: 'c', content: 'r' },
        ],
      },
      'messages.[1].tool_calls.[0].function.arguments',
      /not valid JSON/,
    );
  });

  it('tools → functionDeclarations with the JSON schema as parametersJsonSchema (additionalProperties and $schema accepted there)', async () => {
    const b = await sent({ messages: [{ role: 'user', content: 'x' }], tools: [weather, now] });
    assert.deepEqual(b.tools, [
      {
        functionDeclarations: [
          { name: 'get_weather', description: 'Weather for a city', parametersJsonSchema: weather.function.parameters },
          { name: 'now' },
        ],
      },
    ]);
    assert.equal(b.toolConfig, undefined);
  });

  it('tool_choice auto / none / required / named / allowed_tools → functionCallingConfig', async () => {
    const base = { messages: [{ role: 'user', content: 'x' }], tools: [weather, now] };
    const cases: [unknown, Record<string, unknown>, string[]][] = [
      ['auto', { mode: 'AUTO' }, ['get_weather', 'now']],
      ['none', { mode: 'NONE' }, ['get_weather', 'now']],
      ['required', { mode: 'ANY' }, ['get_weather', 'now']],
      [
        { type: 'function', function: { name: 'now' } },
        { mode: 'ANY', allowedFunctionNames: ['now'] },
        ['get_weather', 'now'],
      ],
      [
        {
          type: 'allowed_tools',
          allowed_tools: { mode: 'auto', tools: [{ type: 'function', function: { name: 'now' } }] },
        },
        { mode: 'AUTO' },
        ['now'],
      ],
      [
        {
          type: 'allowed_tools',
          allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: 'get_weather' } }] },
        },
        { mode: 'ANY' },
        ['get_weather'],
      ],
    ];
    for (const [choice, config, declared] of cases) {
      const b = await sent({ ...base, tool_choice: choice });
      assert.deepEqual(b.toolConfig, { functionCallingConfig: config }, JSON.stringify(choice));
      assert.deepEqual(
        b.tools![0]!.functionDeclarations.map((d) => d.name),
        declared,
      );
    }
  });

  it('stop, max tokens, sampling, seed, penalties and response_format → generationConfig', async () => {
    const m = [{ role: 'user', content: 'x' }];
    assert.deepEqual((await sent({ messages: m, stop: 'END' })).generationConfig, { stopSequences: ['END'] });
    assert.deepEqual(
      (
        await sent({
          messages: m,
          stop: ['a', 'b'],
          max_tokens: 50,
          max_completion_tokens: 70,
          temperature: 1.7,
          top_p: 0.9,
          seed: 7,
          presence_penalty: 0.5,
          frequency_penalty: -0.5,
        })
      ).generationConfig,
      {
        stopSequences: ['a', 'b'],
        // Both limits set: the tighter one holds, for every client (voice/platforms/normalise.ts).
        maxOutputTokens: 50,
        temperature: 1.7,
        topP: 0.9,
        seed: 7,
        presencePenalty: 0.5,
        frequencyPenalty: -0.5,
      },
    );
    assert.deepEqual((await sent({ messages: m, max_tokens: 33 })).generationConfig, { maxOutputTokens: 33 });
    assert.equal((await sent({ messages: m })).generationConfig, undefined);
    const schema = {
      type: 'object',
      properties: { a: { type: 'string' } },
      required: ['a'],
      additionalProperties: false,
    };
    assert.deepEqual(
      (
        await sent({
          messages: m,
          response_format: { type: 'json_schema', json_schema: { name: 'out', schema, strict: true } },
        })
      ).generationConfig,
      { responseMimeType: 'application/json', responseJsonSchema: schema },
    );
    assert.deepEqual((await sent({ messages: m, response_format: { type: 'json_object' } })).generationConfig, {
      responseMimeType: 'application/json',
    });
  });

  it('reasoning_effort → a thinking budget on Gemini 2, a thinking level on Gemini 3', async () => {
    const m = [{ role: 'user', content: 'x' }];
    const cases: [string, string, Record<string, unknown>][] = [
      ['gemini-2.5-flash', 'none', { thinkingBudget: 0 }],
      ['gemini-2.5-flash', 'low', { thinkingBudget: 1024 }],
      ['gemini-2.5-pro', 'medium', { thinkingBudget: 8192 }],
      ['gemini-2.5-pro', 'high', { thinkingBudget: 24576 }],
      ['gemini-3-flash', 'minimal', { thinkingLevel: 'minimal' }],
      ['gemini-3-pro-preview', 'low', { thinkingLevel: 'low' }],
      ['gemini-3-flash', 'xhigh', { thinkingLevel: 'high' }],
    ];
    for (const [model, effort, thinking] of cases) {
      const b = await sent({ model, messages: m, reasoning_effort: effort });
      assert.deepEqual(b.generationConfig, { thinkingConfig: thinking }, `${model} ${effort}`);
    }
  });

  it('n > 1 and a temperature outside 0..2 are 400s naming the parameter', async () => {
    const m = [{ role: 'user', content: 'x' }];
    await refused({ messages: m, n: 2 }, 'n', /gemini/);
    await refused({ messages: m, temperature: 2.5 }, 'temperature', /temperature/);
    assert.equal((await sent({ messages: m, n: 1 })).generationConfig, undefined, 'n: 1 is the default');
  });

  it('an image still being fetched when a later message is refused does not take Parley down', async () => {
    await refused(
      {
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://127.0.0.1:1/cat.png' } }] },
          { role: 'tool', tool_call_id: 'call_nowhere', content: 'r' },
        ],
      },
      'messages.[1].tool_call_id',
      /call_nowhere/,
    );
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await sent({ messages: [{ role: 'user', content: 'still here?' }] })).contents.length, 1);
  });

  it('a conversation of system messages only is a 400 naming messages', async () => {
    await refused({ messages: [{ role: 'system', content: 'x' }] }, 'messages', /no user or assistant message/);
  });

  it('data-URL images become inlineData with the MIME type of the bytes; a non-image is a 400 naming the part', async () => {
    const url = (mime: string, b: Buffer) => `data:${mime};base64,${b.toString('base64')}`;
    const b = await sent({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What are these?' },
            { type: 'image_url', image_url: { url: url('image/jpeg', PNG) } }, // mislabelled: really a PNG
            { type: 'image_url', image_url: { url: url('application/octet-stream', JPEG), detail: 'low' } },
          ],
        },
      ],
    });
    assert.deepEqual(b.contents[0]!.parts, [
      { text: 'What are these?' },
      { inlineData: { mimeType: 'image/png', data: PNG.toString('base64') } },
      { inlineData: { mimeType: 'image/jpeg', data: JPEG.toString('base64') } },
    ]);
    await refused(
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'x' },
              { type: 'image_url', image_url: { url: url('image/png', Buffer.from('<html>not an image</html>')) } },
            ],
          },
        ],
      },
      'messages.[0].content.[1].image_url.url',
      /not a PNG, JPEG, GIF or WebP image/,
    );
  });

  it('image URLs leading to this machine or a private network are refused in production', async () => {
    const cases: [string, RegExp][] = [
      ['https://127.0.0.1:1/cat.png', /private or local address/],
      ['https://[::1]:1/cat.png', /private or local address/],
      ['https://192.168.1.10/cat.png', /private or local address/],
      ['https://169.254.169.254/latest/meta-data', /private or local address/],
      ['https://localhost:1/cat.png', /resolves to a private or local address/],
    ];
    for (const [u, pattern] of cases) {
      await refused(
        { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: u } }] }] },
        'messages.[0].content.[0].image_url.url',
        pattern,
      );
    }
  });

  it('a data URL that does not decode is a 400 naming the part, not a 500', async () => {
    await refused(
      { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png,%E0%A4%A' } }] }] },
      'messages.[0].content.[0].image_url.url',
      /percent-encoded/,
    );
  });

  it('image URLs other than https are refused in production (http, ftp)', async () => {
    for (const u of ['http://127.0.0.1:1/cat.png', 'ftp://example.com/cat.png']) {
      await refused(
        { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: u } }] }] },
        'messages.[0].content.[0].image_url.url',
        /only over https/,
      );
    }
  });
});

describe('image URLs fetched by Parley', () => {
  let g: MockGemini;
  let images: Server;
  let imagesUrl: string;
  let parley: Awaited<ReturnType<typeof createParley>>;
  let url: string;
  before(async () => {
    g = await startMockGemini();
    images = createServer((req, res) => {
      const serve = (type: string, body: Buffer) => {
        res.writeHead(200, { 'content-type': type });
        res.end(body);
      };
      if (req.url === '/cat.png') return serve('image/png', PNG);
      if (req.url === '/photo') return serve('application/octet-stream', JPEG);
      if (req.url === '/anim.gif') return serve('image/gif', GIF);
      if (req.url === '/pic.webp') return serve('image/webp', WEBP);
      if (req.url === '/page.html') return serve('image/png', Buffer.from('<!doctype html><p>hello</p>'));
      if (req.url === '/huge.png') return serve('image/png', Buffer.concat([PNG, Buffer.alloc(200_000)]));
      if (req.url === '/moved') {
        res.writeHead(302, { location: '/cat.png' });
        return res.end();
      }
      res.writeHead(404);
      res.end();
    });
    await new Promise<void>((r) => images.listen(0, '127.0.0.1', r));
    imagesUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
    const settings = {
      ...readSettings({ LOG_LEVEL: 'silent', PARLEY_API_KEYS: KEY, GEMINI_API_KEY: g.apiKey, GEMINI_BASE_URL: g.url }),
      port: 0,
    };
    const providers = createProviders(settings);
    // The one difference from production: http:// and local addresses allowed, to reach the local image server.
    providers.set(
      'gemini',
      new GeminiProvider({
        id: 'gemini',
        baseUrl: g.url,
        apiKey: g.apiKey,
        firstByteTimeoutMs: 5_000,
        idleTimeoutMs: 5_000,
        maxResponseBytes: 1 << 20,
        imageFetch: { maxBytes: 100_000, timeoutMs: 5_000, allowHttp: true, allowPrivateAddresses: true },
      }),
    );
    parley = await createParley({ settings, router: buildRouter(settings, {}, providers) });
    url = await parley.listen();
  });
  after(async () => {
    await parley.shutdown();
    await g.close();
    await new Promise((r) => images.close(r));
  });

  const ask = (paths: string[]) =>
    postJson(
      `${url}/v1/chat/completions`,
      {
        model: 'gemini-2.5-flash',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Describe.' },
              ...paths.map((p) => ({ type: 'image_url', image_url: { url: imagesUrl + p } })),
            ],
          },
        ],
      },
      headers,
    );

  it('fetches, sniffs and inlines png, jpeg (whatever its content-type), gif and webp; follows a redirect', async () => {
    const res = await ask(['/cat.png', '/photo', '/anim.gif', '/pic.webp', '/moved']);
    assert.equal(res.status, 200, await res.text());
    const parts = (g.received.at(-1)!.body as Body).contents[0]!.parts;
    assert.deepEqual(
      parts.slice(1).map((p) => (p.inlineData as { mimeType: string }).mimeType),
      ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/png'],
    );
    assert.equal((parts[1]!.inlineData as { data: string }).data, PNG.toString('base64'));
  });

  it('a page that is not an image, a 404 and an image over the size limit are 400s naming the part', async () => {
    const cases: [string, RegExp][] = [
      ['/page.html', /not a PNG, JPEG, GIF or WebP/],
      ['/missing.png', /HTTP 404/],
      ['/huge.png', /larger than/],
    ];
    for (const [path, pattern] of cases) {
      const res = await ask(['/cat.png', path]);
      const err = ((await res.json()) as { error: { param: string; message: string } }).error;
      assert.equal(res.status, 400, path);
      assert.equal(err.param, 'messages.[0].content.[2].image_url.url');
      assert.match(err.message, pattern);
    }
  });

  it('sniffs the four formats Gemini reads and nothing else', () => {
    assert.equal(sniffImage(PNG), 'image/png');
    assert.equal(sniffImage(JPEG), 'image/jpeg');
    assert.equal(sniffImage(GIF), 'image/gif');
    assert.equal(sniffImage(WEBP), 'image/webp');
    assert.equal(sniffImage(Buffer.from('%PDF-1.7')), null);
    assert.equal(sniffImage(Buffer.alloc(0)), null);
  });
});
