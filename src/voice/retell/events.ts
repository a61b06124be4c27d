/**
 * Retell's LLM WebSocket protocol, the part Parley speaks (docs.retellai.com, "LLM WebSocket";
 * RetellAI/retell-custom-llm-python-demo). Retell sends `interaction_type` events; Parley
 * answers with `response_type` events.
 *
 * In: ping_pong {timestamp}; call_details {call}; update_only {transcript};
 *     response_required / reminder_required {response_id, transcript}.
 * Out: config {auto_reconnect, call_details}; ping_pong {timestamp};
 *      response {response_id, content, content_complete, end_call}.
 * A transcript is [{role: "agent" | "user", content}].
 */
import type { ChatRequest } from '../../protocol/chat.js';

export interface Utterance {
  role: 'assistant' | 'user';
  content: string;
}

export type Inbound =
  | { kind: 'ping_pong'; timestamp: unknown }
  | { kind: 'call_details'; call: Record<string, unknown> | null }
  | { kind: 'update_only' }
  | { kind: 'respond'; reminder: boolean; responseId: number; transcript: Utterance[] }
  /** An interaction Parley does not act on (Retell adds new ones; they are ignored). */
  | { kind: 'other'; type: string };

/** A frame Retell would never send: the session closes with 1007 and this reason. */
export class BadFrame extends Error {}

const MAX_REASON = 120;

/** One text frame as an event; throws BadFrame when it breaks the protocol. */
export function parseInbound(text: string): Inbound {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new BadFrame('frame is not JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new BadFrame('frame is not a JSON object');
  const e = v as Record<string, unknown>;
  const type = e.interaction_type;
  if (typeof type !== 'string') throw new BadFrame('interaction_type is missing');
  switch (type) {
    case 'ping_pong':
      return { kind: 'ping_pong', timestamp: e.timestamp };
    case 'call_details': {
      const call = e.call;
      return {
        kind: 'call_details',
        call: call && typeof call === 'object' ? (call as Record<string, unknown>) : null,
      };
    }
    case 'update_only':
      return { kind: 'update_only' };
    case 'response_required':
    case 'reminder_required': {
      const id = e.response_id;
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0)
        throw new BadFrame(`${type}: response_id must be a non-negative integer`);
      return { kind: 'respond', reminder: type === 'reminder_required', responseId: id, transcript: transcript(e) };
    }
    default:
      return { kind: 'other', type: type.slice(0, MAX_REASON) };
  }
}

/** Retell's transcript as chat turns: agent → assistant, user → user; other roles and empty turns left out. */
function transcript(e: Record<string, unknown>): Utterance[] {
  const t = e.transcript;
  if (!Array.isArray(t)) throw new BadFrame(`${String(e.interaction_type)}: transcript must be an array`);
  const out: Utterance[] = [];
  for (const u of t) {
    const role = (u as { role?: unknown } | null)?.role;
    const content = (u as { content?: unknown } | null)?.content;
    if (typeof content !== 'string' || content === '') continue;
    if (role === 'agent') out.push({ role: 'assistant', content });
    else if (role === 'user') out.push({ role: 'user', content });
  }
  return out;
}

/** What the model is asked when the caller has been silent (reminder_required). */
const REMINDER =
  'The caller has been silent for a while. Say one short, friendly sentence to check that they are still there.';
/** What the model is asked when there is no transcript yet (the agent speaks first). */
const OPENING = 'The call has just connected. Greet the caller briefly.';

/** The chat request for one response: the system prompt, the transcript, and a nudge for a reminder. */
export function chatRequestFor(
  model: string,
  system: string | undefined,
  ev: { reminder: boolean; transcript: Utterance[] },
): ChatRequest {
  const messages: ChatRequest['messages'][number][] = [];
  if (system) messages.push({ role: 'system', content: system });
  messages.push(...ev.transcript);
  if (ev.reminder) messages.push({ role: 'system', content: REMINDER });
  else if (ev.transcript.length === 0) messages.push({ role: 'system', content: OPENING });
  return { model, messages: messages as ChatRequest['messages'], stream: true };
}

export const out = {
  config: () => JSON.stringify({ response_type: 'config', config: { auto_reconnect: true, call_details: true } }),
  pingPong: (timestamp: unknown) => JSON.stringify({ response_type: 'ping_pong', timestamp }),
  response: (responseId: number, content: string, complete: boolean) =>
    JSON.stringify({
      response_type: 'response',
      response_id: responseId,
      content,
      content_complete: complete,
      end_call: false,
    }),
};
