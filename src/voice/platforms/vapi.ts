/**
 * Vapi's Custom LLM: POSTs `{url}/chat/completions` with the OpenAI fields plus its own:
 * `call` (the Call object), `phoneNumber`, `customer`, `assistant`, and `metadata` (the
 * assistant's metadata, metadataSendMode "variable") or the metadata's keys spread onto the
 * top level ("destructured"; those the allow-list leaves behind, see protocol/upstream-fields.ts).
 * Messages may carry a `metadata` of their own (word-level confidence from the transcriber,
 * `wordLevelConfidenceEnabled`): taken off too, since no OpenAI message has that field.
 */
import { type CallFacts, type Obj, obj, str, type VoicePlatform } from './platform.js';

/** Vapi's own top-level fields (the rest of a Vapi body is OpenAI's, or destructured metadata). */
const VAPI_FIELDS: ReadonlySet<string> = new Set(['call', 'phoneNumber', 'customer', 'metadata', 'assistant']);

function callFacts(body: Obj): CallFacts {
  const call = obj(body.call) ?? {};
  const customer = obj(body.customer) ?? obj(call.customer) ?? {};
  const phone = obj(body.phoneNumber) ?? obj(call.phoneNumber) ?? {};
  const callId = str(call.id);
  return {
    callId,
    vapi: {
      callId,
      assistantId: str(call.assistantId) ?? str(obj(body.assistant)?.id),
      customerNumber: str(customer.number),
      callType: str(call.type),
      phoneNumberId: str(call.phoneNumberId) ?? str(phone.id),
    },
  };
}

/** A message without Vapi's `metadata` (the same object when it has none). */
function withoutMetadata(m: unknown): unknown {
  const message = obj(m);
  if (!message || !('metadata' in message)) return m;
  const { metadata: _, ...rest } = message;
  return rest;
}

export const vapi: VoicePlatform = {
  name: 'vapi',
  // Vapi sends `call` on every Custom LLM request; phoneNumber/customer come with it on phone calls.
  detect: (body) =>
    obj(body.call) !== undefined || obj(body.phoneNumber) !== undefined || obj(body.customer) !== undefined,
  adapt(body) {
    const out: Obj = {};
    for (const key in body) if (!VAPI_FIELDS.has(key)) out[key] = body[key];
    if (Array.isArray(body.messages)) out.messages = body.messages.map(withoutMetadata);
    return { body: out, call: callFacts(body) };
  },
};
