/**
 * Validates what Parley sends against the official OpenAI OpenAPI spec itself
 * (../shared/spec/openai-openapi.yaml), read independently of Parley's generated copy.
 * A clone without ../shared falls back to that committed copy, and says so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';

export const OPENAI_SPEC = fileURLToPath(new URL('../../../shared/spec/openai-openapi.yaml', import.meta.url));
export const HAVE_OPENAI_SPEC = existsSync(OPENAI_SPEC);

function nullableToJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(nullableToJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'discriminator' || k === 'example' || k.startsWith('x-')) continue;
    o[k] =
      k === 'properties'
        ? Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, nullableToJsonSchema(s)]))
        : nullableToJsonSchema(v);
  }
  if (o.nullable === true) {
    delete o.nullable;
    return { anyOf: [o, { type: 'null' }] };
  }
  delete o.nullable;
  return o;
}

let ajv: Ajv2020 | undefined;
function load(): Ajv2020 {
  if (ajv) return ajv;
  ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  if (HAVE_OPENAI_SPEC) {
    const spec = parse(readFileSync(OPENAI_SPEC, 'utf8')) as { components: { schemas: Record<string, unknown> } };
    ajv.addSchema({ $id: 'openai', components: { schemas: nullableToJsonSchema(spec.components.schemas) } });
  } else {
    console.log(`# ${OPENAI_SPEC} not found: validating against Parley's committed copy of the spec's schemas`);
    const copy = JSON.parse(
      readFileSync(new URL('../../src/protocol/openai/schemas.json', import.meta.url), 'utf8'),
    ) as Record<string, object>;
    for (const s of Object.values(copy)) ajv.addSchema(s);
  }
  return ajv;
}

/** Throws with Ajv's errors when `value` is not a valid instance of the named spec schema. */
export function assertSpec(schema: string, value: unknown): void {
  const validator = load();
  const validate = HAVE_OPENAI_SPEC
    ? validator.getSchema(`openai#/components/schemas/${schema}`)
    : validator.getSchema(schema);
  if (!validate) throw new Error(`no schema ${schema} in the spec`);
  if (!validate(value)) {
    throw new Error(
      `not a valid ${schema}: ${JSON.stringify(validate.errors?.slice(0, 5), null, 1)}\nvalue: ${JSON.stringify(value).slice(0, 800)}`,
    );
  }
}
