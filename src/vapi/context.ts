/**
 * Recognises a Vapi Custom LLM request and keeps what it says about the phone call.
 *
 * Vapi POSTs `{url}/chat/completions` with the OpenAI fields plus its own: `call` (the
 * Call object), `phoneNumber`, `customer`, and `metadata` (the assistant's metadata,
 * metadataSendMode "variable") or the metadata's keys spread onto the top level
 * ("destructured"). Those must never reach an OpenAI upstream, which rejects unknown
 * arguments; see protocol/upstream-fields in docs/vapi.md for how they are told apart.
 */
import type { VapiCallContext } from '../usage/record.js';

/** Vapi's own top-level fields (the rest of a Vapi body is OpenAI's, or destructured metadata). */
const VAPI_FIELDS: ReadonlySet<string> = new Set(['call', 'phoneNumber', 'customer', 'metadata', 'assistant']);

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v.slice(0, 200) : undefined);

/** Vapi sends `call` on every Custom LLM request; phoneNumber/customer come with it on phone calls. */
export function isVapiRequest(body: unknown): body is Obj {
  return (
    obj(body) !== undefined &&
    (obj((body as Obj).call) !== undefined ||
      obj((body as Obj).phoneNumber) !== undefined ||
      obj((body as Obj).customer) !== undefined)
  );
}

export function vapiContextOf(body: Obj): VapiCallContext {
  const call = obj(body.call) ?? {};
  const customer = obj(body.customer) ?? obj(call.customer) ?? {};
  const phone = obj(body.phoneNumber) ?? obj(call.phoneNumber) ?? {};
  return {
    callId: str(call.id),
    assistantId: str(call.assistantId) ?? str(obj(body.assistant)?.id),
    customerNumber: str(customer.number),
    callType: str(call.type),
    phoneNumberId: str(call.phoneNumberId) ?? str(phone.id),
  };
}

/** The body without Vapi's fields, for the upstream; every other field is kept for the allow-list to judge. */
export function withoutVapiFields(body: Obj): Obj {
  const out: Obj = {};
  for (const key in body) if (!VAPI_FIELDS.has(key)) out[key] = body[key];
  return out;
}
