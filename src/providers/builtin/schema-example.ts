/**
 * Builds a small value that satisfies a tool's JSON schema, so the built-in model's
 * forced tool calls carry arguments a client can parse and validate offline.
 * Covers what tool schemas use in practice: objects, arrays, scalars, enum/const,
 * bounds, anyOf/oneOf/allOf and local $refs.
 */
type Schema = Record<string, unknown>;

const FORMATS: Record<string, string> = {
  'date-time': '2024-01-01T00:00:00Z',
  date: '2024-01-01',
  time: '00:00:00',
  email: 'user@example.com',
  uri: 'https://example.com',
  url: 'https://example.com',
  uuid: '00000000-0000-4000-8000-000000000000',
  ipv4: '127.0.0.1',
  hostname: 'example.com',
};

function resolveRef(root: Schema, ref: string): Schema {
  if (!ref.startsWith('#/')) return {};
  let cur: unknown = root;
  for (const part of ref.slice(2).split('/'))
    cur = (cur as Schema | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  return (cur as Schema) ?? {};
}

function stringFor(s: Schema, name: string): string {
  const format = typeof s.format === 'string' ? FORMATS[s.format] : undefined;
  let v = format ?? (name ? `example ${name}` : 'example');
  const min = typeof s.minLength === 'number' ? s.minLength : 0;
  const max = typeof s.maxLength === 'number' ? s.maxLength : Infinity;
  if (v.length < min) v = v.padEnd(min, 'x');
  if (v.length > max) v = v.slice(0, max);
  return v;
}

function numberFor(s: Schema, integer: boolean): number {
  let v = 1;
  if (typeof s.minimum === 'number') v = Math.max(v, s.minimum);
  if (typeof s.exclusiveMinimum === 'number') v = Math.max(v, s.exclusiveMinimum + 1);
  if (typeof s.maximum === 'number') v = Math.min(v, s.maximum);
  if (typeof s.exclusiveMaximum === 'number') v = Math.min(v, s.exclusiveMaximum - (integer ? 1 : 0.5));
  if (integer) v = Math.ceil(v);
  if (typeof s.multipleOf === 'number' && s.multipleOf > 0) v = Math.ceil(v / s.multipleOf) * s.multipleOf;
  return v;
}

export function exampleFor(schema: unknown, root: Schema = schema as Schema, name = '', depth = 0): unknown {
  const s = (schema && typeof schema === 'object' ? schema : {}) as Schema;
  if (depth > 12) return null;
  if (typeof s.$ref === 'string') return exampleFor(resolveRef(root, s.$ref), root, name, depth + 1);
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
  if ('default' in s) return s.default;
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = s[key];
    if (Array.isArray(options) && options.length) {
      const nonNull = options.find((o) => (o as Schema)?.type !== 'null') ?? options[0];
      return exampleFor({ ...s, [key]: undefined, ...(nonNull as Schema) }, root, name, depth + 1);
    }
  }
  if (Array.isArray(s.allOf)) {
    const merged: Schema = { ...s, allOf: undefined };
    for (const part of s.allOf as Schema[]) {
      const p = typeof part.$ref === 'string' ? resolveRef(root, part.$ref) : part;
      merged.properties = { ...(merged.properties as Schema), ...(p.properties as Schema) };
      merged.required = [...((merged.required as string[]) ?? []), ...((p.required as string[]) ?? [])];
      merged.type ??= p.type;
    }
    return exampleFor(merged, root, name, depth + 1);
  }
  let type = s.type;
  if (Array.isArray(type)) type = type.find((t) => t !== 'null') ?? 'null';
  if (type === undefined) type = s.properties ? 'object' : s.items ? 'array' : 'string';
  switch (type) {
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, unknown>;
      const required = Array.isArray(s.required) ? (s.required as string[]) : [];
      // Fill the required properties, or all of them when none is required, so the call shows every argument.
      const keys = required.length ? required : Object.keys(props);
      const out: Record<string, unknown> = {};
      for (const k of keys) out[k] = exampleFor(props[k] ?? {}, root, k, depth + 1);
      return out;
    }
    case 'array': {
      const n = typeof s.minItems === 'number' ? Math.max(1, s.minItems) : 1;
      const max = typeof s.maxItems === 'number' ? s.maxItems : n;
      return Array.from({ length: Math.min(n, max) }, () => exampleFor(s.items ?? {}, root, name, depth + 1));
    }
    case 'integer':
      return numberFor(s, true);
    case 'number':
      return numberFor(s, false);
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return stringFor(s, name);
  }
}
