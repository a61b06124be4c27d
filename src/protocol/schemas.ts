/**
 * The OpenAI protocol schemas Parley serves, derived from the official spec by
 * scripts/gen-openai-schemas.ts. Fastify validates request bodies with them, and
 * @fastify/swagger publishes them as components of /openapi.json.
 */
import { createRequire } from 'node:module';

type Schema = Record<string, unknown> & { $id: string };

const require = createRequire(import.meta.url);
export const openaiSchemas = require('./openai/schemas.json') as Record<string, Schema>;

export const ref = (name: keyof typeof openaiSchemas & string) => ({ $ref: `${name}#` });

/** Top-level request fields the OpenAI spec defines for CreateChatCompletionRequest. */
export const CHAT_REQUEST_FIELDS: ReadonlySet<string> = (() => {
  const fields = new Set<string>();
  const walk = (s: Record<string, unknown> | undefined) => {
    if (!s) return;
    if (typeof s.$ref === 'string') walk(openaiSchemas[s.$ref.replace(/#$/, '')]);
    for (const part of (s.allOf as Record<string, unknown>[] | undefined) ?? []) walk(part);
    for (const k of Object.keys((s.properties as Record<string, unknown>) ?? {})) fields.add(k);
  };
  walk(openaiSchemas.CreateChatCompletionRequest);
  return fields;
})();
