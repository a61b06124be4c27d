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

type Walkable = Record<string, unknown> | undefined;

/** The property names a schema allows, following $ref and allOf. */
export function propertiesOf(schema: Walkable, into = new Set<string>()): Set<string> {
  if (!schema) return into;
  if (typeof schema.$ref === 'string') propertiesOf(openaiSchemas[schema.$ref.replace(/#$/, '')], into);
  for (const part of (schema.allOf as Record<string, unknown>[] | undefined) ?? []) propertiesOf(part, into);
  for (const k of Object.keys((schema.properties as Record<string, unknown>) ?? {})) into.add(k);
  return into;
}
