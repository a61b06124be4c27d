/**
 * Validates test fixtures against Vapi's own OpenAPI document (../shared/spec/vapi-openapi.json).
 * A clone without ../shared (CI's) uses the committed copy of the schemas the fixtures need
 * (test/fixtures/vapi-schemas.json.gz, made by test/fixtures/vendor-vapi-schemas.mjs), and says so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Ajv } from 'ajv';

const SPEC = fileURLToPath(new URL('../../../shared/spec/vapi-openapi.json', import.meta.url));
const COPY = fileURLToPath(new URL('../fixtures/vapi-schemas.json.gz', import.meta.url));
export const HAVE_VAPI_SPEC = existsSync(SPEC) || existsSync(COPY);
export const NO_VAPI_SPEC_REASON = `neither ${SPEC} nor its committed copy ${COPY} was found`;
let ajv: Ajv | undefined;

function specText(): string {
  if (existsSync(SPEC)) return readFileSync(SPEC, 'utf8');
  console.log(`# ${SPEC} not found: validating against the committed copy of the schemas the fixtures need`);
  return gunzipSync(readFileSync(COPY)).toString('utf8');
}

export function assertVapi(schema: string, value: unknown): void {
  if (!ajv) {
    // Vapi's document has a few `enum: []`, which Ajv refuses to compile: read them as "any value".
    const spec = JSON.parse(specText(), (k, v) =>
      k === 'enum' && Array.isArray(v) && v.length === 0 ? undefined : v,
    ) as { components: unknown };
    ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema({ $id: 'vapi', components: spec.components });
  }
  const validate = ajv.getSchema(`vapi#/components/schemas/${schema}`);
  if (!validate) throw new Error(`no schema ${schema} in Vapi's spec`);
  if (!validate(value)) throw new Error(`not a valid Vapi ${schema}: ${JSON.stringify(validate.errors?.slice(0, 5))}`);
}
