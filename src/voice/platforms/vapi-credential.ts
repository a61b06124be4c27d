/**
 * Vapi's "no credential" placeholder. An assistant whose Custom LLM has no credential still
 * sends an Authorization header: `Bearer no-custom-llm-key-provided`. It is refused always —
 * with keys and in open mode alike — with a message that says what to set up in Vapi, since
 * the person reading it is configuring an assistant, not mistyping a key (errors.vapiNoCredential).
 */
export const VAPI_NO_CREDENTIAL = 'no-custom-llm-key-provided';
