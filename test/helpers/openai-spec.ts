/**
 * Validates what Parley sends against the official OpenAI OpenAPI spec itself
 * (../shared/spec/openai-openapi.yaml), read independently of Parley's generated copy.
 * A clone without ../shared falls back to the committed copy of the whole spec
 * (test/fixtures/openai-openapi.yaml.gz, the Responses schemas included), and says so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
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

/** The committed copy of the same spec (compared with ../shared's by a test), for clones without ../shared. */
const VENDORED_SPEC = new URL('../fixtures/openai-openapi.yaml.gz', import.meta.url);

/** The spec's YAML: ../shared's when it is there, else the committed copy. */
export function openaiSpecText(): string {
  if (HAVE_OPENAI_SPEC) return readFileSync(OPENAI_SPEC, 'utf8');
  console.log(`# ${OPENAI_SPEC} not found: using the committed copy of the spec (test/fixtures)`);
  return gunzipSync(readFileSync(VENDORED_SPEC)).toString('utf8');
}

let ajv: Ajv2020 | undefined;
function load(): Ajv2020 {
  if (ajv) return ajv;
  ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  const spec = parse(openaiSpecText()) as { components: { schemas: Record<string, unknown> } };
  ajv.addSchema({ $id: 'openai', components: { schemas: nullableToJsonSchema(spec.components.schemas) } });
  return ajv;
}

/** Throws with Ajv's errors when `value` is not a valid instance of the named spec schema. */
export function assertSpec(schema: string, value: unknown): void {
  const validator = load();
  const validate = validator.getSchema(`openai#/components/schemas/${schema}`);
  if (!validate) throw new Error(`no schema ${schema} in the spec`);
  if (!validate(value)) {
    throw new Error(
      `not a valid ${schema}: ${JSON.stringify(validate.errors?.slice(0, 5), null, 1)}\nvalue: ${JSON.stringify(value).slice(0, 800)}`,
    );
  }
}
