/**
 * Which request fields may reach an OpenAI-compatible upstream in allow-list mode.
 *
 * OpenAI rejects arguments it does not know, at the top level and inside messages, so a
 * gateway that forwards a Vapi body whole breaks. In allow-list mode Parley keeps only
 * what the official spec defines for CreateChatCompletionRequest and for each message
 * role, plus the extras a provider is configured to accept (`extraParams`). Both sets
 * come from the generated spec schemas, so a new OpenAI parameter is allowed as soon as
 * the schemas are regenerated.
 */
import { openaiSchemas, propertiesOf } from './schemas.js';

const CHAT_REQUEST_FIELDS: ReadonlySet<string> = propertiesOf(openaiSchemas.CreateChatCompletionRequest);

/** role → the fields OpenAI defines for a message with that role. */
const MESSAGE_FIELDS: ReadonlyMap<string, ReadonlySet<string>> = (() => {
  const byRole = new Map<string, Set<string>>();
  for (const option of (openaiSchemas.ChatCompletionRequestMessage!.oneOf as { $ref: string }[]) ?? []) {
    const schema = openaiSchemas[option.$ref.replace(/#$/, '')]!;
    const role = ((schema.properties as Record<string, { enum?: string[] }>).role?.enum ?? [])[0];
    if (role) byRole.set(role, propertiesOf(schema));
  }
  return byRole;
})();

function onlyKnown(message: Record<string, unknown>): Record<string, unknown> {
  const allowed = MESSAGE_FIELDS.get(String(message.role));
  if (!allowed) return message;
  for (const key in message) {
    if (!allowed.has(key)) {
      // Copy only the messages that carry something foreign; the rest go as they are.
      const out: Record<string, unknown> = {};
      for (const k in message) if (allowed.has(k)) out[k] = message[k];
      return out;
    }
  }
  return message;
}

/** A shallow copy of `body` with only the protocol's fields (and `extras`) at the top level and in messages. */
export function allowlisted(body: Record<string, unknown>, extras: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in body) {
    if (CHAT_REQUEST_FIELDS.has(key) || extras.has(key)) out[key] = body[key];
  }
  if (Array.isArray(body.messages)) out.messages = (body.messages as Record<string, unknown>[]).map(onlyKnown);
  return out;
}
