/**
 * The chat pipeline knows no HTTP: a canonical request, a context and an abort signal in, a
 * canonical answer (JSON text, or a stream of payloads) out, or a catalogue error thrown
 * before anything is sent. These tests run it with no server at all.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readSettings } from '../src/config/env.js';
import { ChatPipeline } from '../src/pipeline/chat.js';
import { newContext } from '../src/pipeline/context.js';
import type { ChatRequest } from '../src/protocol/chat.js';
import { type ApiError, errors, ShuttingDownError, toApiError } from '../src/protocol/errors.js';
import { buildRouter } from '../src/routing/router.js';

const settings = readSettings({ PARLEY_BUILTIN_TOKEN_DELAY_MS: '0', LOG_LEVEL: 'silent' });
const quiet = { warn() {}, info() {} };
const request = (extra: Partial<ChatRequest> = {}) =>
  ({ model: 'default', messages: [{ role: 'user', content: 'hi' }], ...extra }) as ChatRequest;

function pipeline(): ChatPipeline {
  return new ChatPipeline({ router: buildRouter(settings, {}), settings });
}

describe('ChatPipeline.run', () => {
  it('answers with the completion JSON and notes the target on the context', async () => {
    const ctx = newContext('req_1', 'openai', performance.now());
    const answer = await pipeline().run(request(), ctx, new AbortController().signal, quiet);
    assert.equal(answer.kind, 'json');
    assert.equal(answer.kind === 'json' && JSON.parse(answer.body).object, 'chat.completion');
    assert.equal(ctx.requestedModel, 'default');
    assert.equal(ctx.provider, 'builtin');
    assert.equal(ctx.stream, false);
  });

  it('answers a stream request with its payloads, ending with [DONE]', async () => {
    const ctx = newContext('req_2', 'openai', performance.now());
    const answer = await pipeline().run(request({ stream: true }), ctx, new AbortController().signal, quiet);
    assert.equal(answer.kind, 'stream');
    const events: string[] = [];
    if (answer.kind === 'stream') for await (const e of answer.events) events.push(e);
    assert.equal(events.at(-1), '[DONE]');
    assert.equal(JSON.parse(events[0]!).object, 'chat.completion.chunk');
    assert.equal(ctx.stream, true);
  });

  it('throws catalogue errors before answering: a model the key may not use, a model that does not exist', async () => {
    const ctx = newContext('req_3', 'openai', performance.now());
    ctx.principal = { keyId: 'k', allowedModels: ['other'] };
    await assert.rejects(
      pipeline().run(request(), ctx, new AbortController().signal, quiet),
      (e: ApiError) => e.status === 403 && e.code === 'model_not_allowed',
    );
    const open = newContext('req_4', 'openai', performance.now());
    await assert.rejects(
      pipeline().run(request({ model: 'no-such-model' }), open, new AbortController().signal, quiet),
      (e: ApiError) => e.status === 404 && e.code === 'model_not_found',
    );
  });
});

describe('the error catalogue', () => {
  it('turns anything that is not an ApiError into a 500 that reveals nothing', () => {
    const e = toApiError(new TypeError('secret internals at /srv/parley'));
    assert.deepEqual(e.toBody(), {
      error: {
        message: 'The server had an error while processing your request.',
        type: 'server_error',
        param: null,
        code: null,
      },
    });
    const known = errors.modelNotFound('x');
    assert.equal(toApiError(known), known);
  });

  it('has a shutdown error class, told apart from other abort reasons by instanceof', () => {
    for (const e of [errors.shuttingDown(), errors.streamShutDown()]) {
      assert.ok(e instanceof ShuttingDownError);
      assert.deepEqual([e.status, e.type, e.code], [503, 'service_unavailable', 'shutting_down']);
    }
  });
});
