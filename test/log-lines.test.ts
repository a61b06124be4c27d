/**
 * What README promises about log lines: they carry the request id (the x-request-id answered),
 * and a Vapi request's line carries the call context — call id, assistant id, customer number,
 * call type and phone number id.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { readSettings } from '../src/config/env.js';
import { createParley } from '../src/server.js';
import * as vapi from './fixtures/vapi.js';
import { captureJsonLines } from './helpers/log-capture.js';
import { memorySink, postJson } from './helpers/parley.js';

const KEY = 'sk-log-lines';
const auth = { authorization: `Bearer ${KEY}` };

describe('request log lines', () => {
  const { stream: logStream, lines } = captureJsonLines();
  const sink = memorySink();
  const chatLine = (reqId: string) => lines.find((l) => l.msg === 'chat' && l.reqId === reqId);

  let generatedId: string;
  before(async () => {
    const settings = {
      ...readSettings({ PARLEY_BUILTIN_TOKEN_DELAY_MS: '0', LOG_LEVEL: 'info', PARLEY_API_KEYS: KEY }),
      port: 0,
    };
    const parley = await createParley({ settings, logStream, usage: sink });
    const url = await parley.listen();
    try {
      const given = await postJson(
        `${url}/v1/chat/completions`,
        { model: 'default', messages: [{ role: 'user', content: 'hi' }] },
        { ...auth, 'x-request-id': 'log-line-given-1' },
      );
      await given.text();
      assert.equal(given.headers.get('x-request-id'), 'log-line-given-1');
      const generated = await postJson(
        `${url}/v1/chat/completions`,
        { model: 'nope-not-a-model', messages: [{ role: 'user', content: 'hi' }] },
        auth,
      );
      await generated.text();
      generatedId = generated.headers.get('x-request-id')!;
      const fromVapi = await postJson(
        `${url}/chat/completions`,
        {
          model: 'default',
          messages: [{ role: 'user', content: 'hi' }],
          call: vapi.call,
          phoneNumber: vapi.phoneNumber,
          customer: vapi.customer,
        },
        { ...auth, 'x-request-id': 'log-line-vapi-1' },
      );
      assert.equal(fromVapi.status, 200, await fromVapi.text());
    } finally {
      await parley.shutdown(); // flushes the buffered log lines
    }
  });

  it('carry the request id the response names, given or generated', () => {
    assert.match(generatedId, /^req_/);
    assert.equal(chatLine('log-line-given-1')?.status, 200, 'the line of the request with its own id');
    assert.equal(chatLine(generatedId)?.status, 404, 'the line of the request with a generated id');
  });

  it('of a Vapi request carry the call context', () => {
    const line = chatLine('log-line-vapi-1');
    assert.ok(line, 'the Vapi request was logged');
    assert.equal(line.route, 'vapi');
    assert.deepEqual(line.vapi, {
      callId: vapi.call.id,
      assistantId: vapi.call.assistantId,
      customerNumber: vapi.customer.number,
      callType: 'inboundPhoneCall',
      phoneNumberId: vapi.phoneNumber.id,
    });
    const record = sink.records.find((r) => r.requestId === 'log-line-vapi-1');
    assert.equal(record?.vapi?.callId, vapi.call.id, 'and the usage record its call id');
  });
});
