/**
 * Vapi's "no credential" placeholder. An assistant whose Custom LLM has no credential still
 * sends an Authorization header: `Bearer no-custom-llm-key-provided`. It is refused always —
 * with keys and in open mode alike — with a message that says what to set up in Vapi, since
 * the person reading it is configuring an assistant, not mistyping a key.
 */
import { ApiError } from '../protocol/errors.js';

export const VAPI_NO_CREDENTIAL = 'no-custom-llm-key-provided';

export function vapiNoCredentialError(): ApiError {
  return new ApiError(
    401,
    `Vapi sent no credential ("Bearer ${VAPI_NO_CREDENTIAL}"): the assistant's Custom LLM has no credential. ` +
      'Create one holding your Parley key — Vapi dashboard → Provider Credentials → Custom LLM, or POST https://api.vapi.ai/credential ' +
      'with {"provider": "custom-llm", "apiKey": "<your Parley key>"} — and Vapi sends it as "Authorization: Bearer <key>".',
    'authentication_error',
    'vapi_no_credential',
  );
}
