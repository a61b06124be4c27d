/**
 * Platforms whose custom-LLM requests are plain OpenAI bodies sent by an OpenAI SDK (or
 * their own HTTP client): Cartesia Agents, Fish Audio Agents, LiveKit Agents and Pipecat.
 * What they add is OpenAI's own (`stream_options.include_usage` always, `service_tier`,
 * both `max_tokens` and `max_completion_tokens`; see ./normalise.ts), so nothing is taken
 * off. They are recognised by their User-Agent when it names them; otherwise an alias's
 * `platform:` setting names the platform for the usage record (README, "Voice platforms").
 * Cartesia's Idempotency-Key is honoured for every client (voice/idempotency/).
 */
import { unchanged, userAgentSays, type VoicePlatform } from './platform.js';

function byUserAgent(name: string, token: RegExp): VoicePlatform {
  return { name, detect: (_body, headers) => userAgentSays(headers, token), adapt: unchanged };
}

export const cartesia = byUserAgent('cartesia', /cartesia/i);
export const fish = byUserAgent('fish', /fish[-_ ]?audio/i);
export const livekit = byUserAgent('livekit', /livekit/i);
export const pipecat = byUserAgent('pipecat', /pipecat/i);
