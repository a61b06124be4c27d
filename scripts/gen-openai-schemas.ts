/**
 * Derives Parley's protocol schemas from the official OpenAI OpenAPI spec.
 *
 * The spec (../shared/spec/openai-openapi.yaml) is the one source of truth for the
 * Chat Completions wire format. This script copies the closure of the schemas Parley
 * serves into src/protocol/openai/schemas.json (JSON Schema 2020-12, one entry per
 * component, refs as "Name#") and generates matching TypeScript types into types.ts.
 * Both outputs are committed because the spec is not shipped with the package; a test
 * fails when they no longer match the spec.
 *
 * One overlay is applied on top of the spec: RANGE_OVERLAY, the limits OpenAI's API enforces
 * and documents in a field's description but the spec's schema leaves out (max_tokens >= 1,
 * logit_bias -100..100, function names…), so Parley refuses what api.openai.com refuses.
 *
 * Usage: npm run gen:schemas [-- path/to/openai-openapi.yaml]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';
import { parse } from 'yaml';

export const ROOTS = [
  'CreateChatCompletionRequest',
  'CreateChatCompletionResponse',
  'CreateChatCompletionStreamResponse',
  'ListModelsResponse',
  'ErrorResponse',
];

const REF_PREFIX = '#/components/schemas/';
// Documentation-only or vendor keys that neither Ajv nor Swagger needs.
const DROP_KEYS = new Set(['x-oaiMeta', 'x-oaiExpandable', 'x-stainless-const', 'x-oaiTypeLabel', 'example', 'title']);

type Json = unknown;
type Schema = Record<string, Json>;

export interface RangeOverlay {
  /** The spec's component name. */
  schema: string;
  /** Where the field is inside it, '/'-separated ('' for the component itself). */
  path: string;
  /** JSON Schema keywords added to the field. */
  add: Schema;
  /** Where OpenAI says so: the description's words, or the error its API answers with. */
  source: string;
}

/** Matches what OpenAI's API accepts as a function or schema name (and refuses otherwise). */
const NAME = { pattern: '^[a-zA-Z0-9_-]+$', maxLength: 64 };
const NAME_SOURCE =
  'description: "Must be a-z, A-Z, 0-9, or contain underscores and dashes, with a maximum length of 64."';

/**
 * Limits api.openai.com enforces that the spec's schemas do not state (issue 10, item 3.4).
 * Ranges the spec already states (temperature 0..2, top_p 0..1, n 1..128, penalties -2..2,
 * top_logprobs 0..20, seed, stop up to 4, safety_identifier up to 64) need no entry.
 * The generator fails when an entry's field is gone from the spec, or when the spec now states
 * the keyword itself: then the entry is no longer needed and should go.
 */
export const RANGE_OVERLAY: RangeOverlay[] = [
  {
    schema: 'CreateChatCompletionRequest',
    path: 'allOf/1/properties/max_tokens',
    add: { minimum: 1 },
    source:
      'API: "Invalid \'max_tokens\': integer below minimum value. Expected a value >= 1" (integer_below_min_value)',
  },
  {
    schema: 'CreateChatCompletionRequest',
    path: 'allOf/1/properties/max_completion_tokens',
    add: { minimum: 1 },
    source: 'API: the same lower bound as max_tokens, which it replaces',
  },
  {
    schema: 'CreateChatCompletionRequest',
    path: 'allOf/1/properties/logit_bias/additionalProperties',
    add: { minimum: -100, maximum: 100 },
    source: 'description: "an associated bias value from -100 to 100"',
  },
  {
    schema: 'Metadata',
    path: 'anyOf/0',
    add: { maxProperties: 16, propertyNames: { maxLength: 64 } },
    source: 'description: "Set of 16 key-value pairs… Keys are strings with a maximum length of 64 characters."',
  },
  {
    schema: 'Metadata',
    path: 'anyOf/0/additionalProperties',
    add: { maxLength: 512 },
    source: 'description: "Values are strings with a maximum length of 512 characters."',
  },
  { schema: 'FunctionObject', path: 'properties/name', add: NAME, source: NAME_SOURCE },
  { schema: 'ChatCompletionFunctions', path: 'properties/name', add: NAME, source: NAME_SOURCE },
  {
    schema: 'ResponseFormatJsonSchema',
    path: 'properties/json_schema/properties/name',
    add: NAME,
    source: NAME_SOURCE,
  },
];

/** The spec's schemas with RANGE_OVERLAY applied (a copy: the parsed spec is left as it was). */
export function withRanges(
  all: Record<string, Schema>,
  overlay: RangeOverlay[] = RANGE_OVERLAY,
): Record<string, Schema> {
  const out = structuredClone(all);
  for (const o of overlay) {
    let node: Json = out[o.schema];
    for (const key of o.path ? o.path.split('/') : [])
      node = node && typeof node === 'object' ? (node as Record<string, Json>)[key] : undefined;
    if (!node || typeof node !== 'object')
      throw new Error(`RANGE_OVERLAY: the spec has no ${o.schema}/${o.path}; update the entry`);
    const field = node as Schema;
    for (const [k, v] of Object.entries(o.add)) {
      if (k in field)
        throw new Error(
          `RANGE_OVERLAY: the spec now states ${o.schema}/${o.path} ${k} itself (${JSON.stringify(field[k])}); remove the entry`,
        );
      field[k] = v;
    }
  }
  return out;
}

/** OpenAPI 3.0's `nullable: true` becomes JSON Schema's "or null"; discriminator mappings (unsupported by Ajv) go. */
function convert(node: Json): Json {
  if (Array.isArray(node)) return node.map(convert);
  if (!node || typeof node !== 'object') return node;
  const out: Schema = {};
  for (const [k, v] of Object.entries(node as Schema)) {
    if (DROP_KEYS.has(k)) continue;
    if (k === '$ref' && typeof v === 'string' && v.startsWith(REF_PREFIX)) {
      out.$ref = `${v.slice(REF_PREFIX.length)}#`;
    } else if (k === 'discriminator' && v && typeof v === 'object') {
      out.discriminator = { propertyName: (v as Schema).propertyName };
    } else if (k === 'properties' && v && typeof v === 'object') {
      // Property names are data, not keywords: never drop or rewrite them.
      out.properties = Object.fromEntries(Object.entries(v as Schema).map(([p, s]) => [p, convert(s)]));
    } else {
      out[k] = convert(v);
    }
  }
  if (out.nullable === true) {
    delete out.nullable;
    if (typeof out.type === 'string' && !out.oneOf && !out.anyOf && !out.allOf) {
      out.type = [out.type, 'null'];
      if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
      return out;
    }
    const { description, default: dflt, deprecated, ...rest } = out;
    const wrapped: Schema = { anyOf: [rest, { type: 'null' }] };
    if (description !== undefined) wrapped.description = description;
    if (dflt !== undefined) wrapped.default = dflt;
    if (deprecated !== undefined) wrapped.deprecated = deprecated;
    return wrapped;
  }
  if (out.nullable === false) delete out.nullable;
  return out;
}

function collect(all: Record<string, Schema>, roots: string[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    if (!all[name]) throw new Error(`spec has no schema named ${name}`);
    seen.add(name);
    for (const m of JSON.stringify(all[name]).matchAll(/#\/components\/schemas\/([A-Za-z0-9_.-]+)/g)) visit(m[1]!);
  };
  roots.forEach(visit);
  return [...seen].sort();
}

export function buildSchemas(specText: string): Record<string, Schema> {
  const spec = parse(specText) as { components: { schemas: Record<string, Schema> } };
  const all = withRanges(spec.components.schemas);
  const out: Record<string, Schema> = {};
  for (const name of collect(all, ROOTS)) out[name] = { $id: name, ...(convert(all[name]) as Schema) };
  return out;
}

async function buildTypes(schemas: Record<string, Schema>): Promise<string> {
  // json-schema-to-typescript resolves local refs: present every schema under $defs with its name as title.
  const defs: Schema = {};
  const localise = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(localise);
    if (!node || typeof node !== 'object') return node;
    const o: Schema = {};
    for (const [k, v] of Object.entries(node as Schema)) {
      if (k === '$id' || k === 'description' || k === 'discriminator' || k === 'deprecated' || k === 'default')
        continue;
      o[k] = k === '$ref' ? `#/$defs/${String(v).replace(/#$/, '')}` : localise(v);
    }
    return o;
  };
  for (const [name, s] of Object.entries(schemas)) defs[name] = { title: name, ...(localise(s) as Schema) };
  const root = {
    title: 'OpenAIProtocol',
    type: 'object',
    properties: Object.fromEntries(ROOTS.map((r) => [r, { $ref: `#/$defs/${r}` }])),
    $defs: defs,
    additionalProperties: false,
  };
  return compile(root as never, 'OpenAIProtocol', {
    bannerComment:
      '/* Generated by scripts/gen-openai-schemas.ts from the official OpenAI OpenAPI spec. Do not edit. */',
    additionalProperties: false,
    unreachableDefinitions: false,
    strictIndexSignatures: false,
    format: false,
  });
}

export const SCHEMAS_OUT = fileURLToPath(new URL('../src/protocol/openai/schemas.json', import.meta.url));
export const TYPES_OUT = fileURLToPath(new URL('../src/protocol/openai/types.ts', import.meta.url));
export const DEFAULT_SPEC = fileURLToPath(new URL('../../shared/spec/openai-openapi.yaml', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const specPath = process.argv[2] ?? DEFAULT_SPEC;
  const schemas = buildSchemas(readFileSync(specPath, 'utf8'));
  writeFileSync(SCHEMAS_OUT, `${JSON.stringify(schemas, null, 1)}\n`);
  writeFileSync(TYPES_OUT, await buildTypes(schemas));
  console.log(`wrote ${Object.keys(schemas).length} schemas to ${SCHEMAS_OUT} and types to ${TYPES_OUT}`);
}
