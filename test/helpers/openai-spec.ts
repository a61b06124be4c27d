/**
 * Validates what Parley sends against the official OpenAI OpenAPI spec itself
 * (../shared/spec/openai-openapi.yaml), read independently of Parley's generated copy.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';

const SPEC = fileURLToPath(new URL('../../../shared/spec/openai-openapi.yaml', import.meta.url));

function nullableToJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(nullableToJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'discriminator' || k === 'example' || k.startsWith('x-')) continue;
    o[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, nullableToJsonSchema(s)])) : nullableToJsonSchema(v);
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
  const spec = parse(readFileSync(SPEC, 'utf8')) as { components: { schemas: Record<string, unknown> } };
  ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: 'openai', components: { schemas: nullableToJsonSchema(spec.components.schemas) } });
  return ajv;
}

/** Throws with Ajv's errors when `value` is not a valid instance of the named spec schema. */
export function assertSpec(schema: string, value: unknown): void {
  const validate = load().getSchema(`openai#/components/schemas/${schema}`);
  if (!validate) throw new Error(`no schema ${schema} in the spec`);
  if (!validate(value)) {
    throw new Error(`not a valid ${schema}: ${JSON.stringify(validate.errors?.slice(0, 5), null, 1)}\nvalue: ${JSON.stringify(value).slice(0, 800)}`);
  }
}
