/**
 * Which voice platform sent a `/chat/completions` request, and its body as OpenAI's.
 * Called once per chat request before validation (http/routes/chat.ts). The platforms are
 * tried in order: body fields first (unambiguous), then User-Agent names.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { elevenlabs } from './elevenlabs.js';
import { normaliseTokenLimits } from './normalise.js';
import { type CallFacts, type Obj, obj, type VoicePlatform } from './platform.js';
import { cartesia, fish, livekit, pipecat } from './sdk-platforms.js';
import { vapi } from './vapi.js';

export type { CallFacts } from './platform.js';

const PLATFORMS: readonly VoicePlatform[] = [vapi, elevenlabs, cartesia, fish, livekit, pipecat];

export interface Recognised {
  /** The platform's name, or null for an ordinary OpenAI client. */
  platform: string | null;
  /** The body to validate and send upstream (the same object when nothing changed). */
  body: Obj;
  call: CallFacts;
}

/** `body` as received (unvalidated); null when it is not a JSON object (validation will say so). */
export function recognise(body: unknown, headers: IncomingHttpHeaders): Recognised | null {
  const b = obj(body);
  if (!b) return null;
  for (const p of PLATFORMS) {
    if (!p.detect(b, headers)) continue;
    const adapted = p.adapt(b);
    return { platform: p.name, body: normaliseTokenLimits(adapted.body), call: adapted.call };
  }
  return { platform: null, body: normaliseTokenLimits(b), call: {} };
}
