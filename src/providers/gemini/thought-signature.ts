/**
 * Gemini's thought signatures, carried through the client statelessly. A functionCall part
 * arrives with an opaque `thoughtSignature`; Gemini 3 refuses the next turn unless that part
 * comes back with it. Parley keeps nothing: the signature rides in the tool call the client
 * receives, where Google's own OpenAI-compatible endpoint puts it
 * (`extra_content.google.thought_signature`), and comes back in the assistant message's
 * tool_calls — so it survives restarts and works across replicas.
 */

/** The tool call's extra fields for a signature (none without one). */
export function signatureExtra(signature: string | undefined): Record<string, unknown> | undefined {
  return signature ? { extra_content: { google: { thought_signature: signature } } } : undefined;
}

/** The signature a client sent back on one of the assistant message's tool calls. */
export function signatureOf(toolCall: unknown): string | undefined {
  const extra = (toolCall as { extra_content?: { google?: { thought_signature?: unknown } } })?.extra_content;
  const sig = extra?.google?.thought_signature;
  return typeof sig === 'string' && sig !== '' ? sig : undefined;
}

/**
 * What Google documents for function calls whose signature is unknown (a history written by
 * another model, or by a client that dropped it): Gemini 3 then accepts the turn instead of
 * refusing it with 400. Used only on the first call of a turn, the one Gemini checks.
 */
export const SKIP_VALIDATOR = 'skip_thought_signature_validator';
