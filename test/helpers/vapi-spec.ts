/** Validates test fixtures against Vapi's own OpenAPI document (../shared/spec/vapi-openapi.json). */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';

const SPEC = fileURLToPath(new URL('../../../shared/spec/vapi-openapi.json', import.meta.url));
export const HAVE_VAPI_SPEC = existsSync(SPEC);
export const NO_VAPI_SPEC_REASON = `${SPEC} not found (it sits beside the project in CI)`;
let ajv: Ajv | undefined;

export function assertVapi(schema: string, value: unknown): void {
  if (!ajv) {
    // Vapi's document has a few `enum: []`, which Ajv refuses to compile: read them as "any value".
    const spec = JSON.parse(readFileSync(SPEC, 'utf8'), (k, v) => (k === 'enum' && Array.isArray(v) && v.length === 0 ? undefined : v)) as { components: unknown };
    ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema({ $id: 'vapi', components: spec.components });
  }
  const validate = ajv.getSchema(`vapi#/components/schemas/${schema}`);
  if (!validate) throw new Error(`no schema ${schema} in Vapi's spec`);
  if (!validate(value)) throw new Error(`not a valid Vapi ${schema}: ${JSON.stringify(validate.errors?.slice(0, 5))}`);
}
