/**
 * ElevenLabs Agents' custom LLM: an OpenAI body (always streamed) plus a top-level
 * `user_id` (the conversation's user, OpenAI's `user`) and, when "Custom LLM extra body" is
 * on, `elevenlabs_extra_body` (whatever the agent's conversation passed; it may hold
 * personal data, so it is neither forwarded nor stored). ElevenLabs' system tools
 * (end_call, transfer_to_number, transfer_to_agent, skip_turn, language_detection, voicemail
 * detection) arrive as ordinary function tools and go to the model as they are.
 */
import type { Obj, VoicePlatform } from './platform.js';

export const elevenlabs: VoicePlatform = {
  name: 'elevenlabs',
  detect: (body) => 'elevenlabs_extra_body' in body || 'user_id' in body,
  adapt(body) {
    const { user_id: userId, elevenlabs_extra_body: _extra, ...out } = body as Obj;
    // OpenAI's own `user` wins when both are sent; a non-string user_id is dropped, not forwarded.
    if (out.user === undefined && typeof userId === 'string' && userId.length > 0) out.user = userId;
    return { body: out, call: {} };
  },
};
