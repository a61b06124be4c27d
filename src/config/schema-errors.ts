/**
 * Turns TypeBox's validation errors into one sentence an operator can act on: the JSON path,
 * what was expected, what was found, and a hint for the usual mistakes (a snake_case key, a
 * unit in a number of milliseconds, a URL without its scheme).
 *
 * TypeBox reports a value that matches no member of a union as just "Expected union value"
 * at the union's path, so unions are resolved here: the member whose fields the value uses
 * most is taken, and its first error reported. (A union discriminated by a `type` literal,
 * like the providers, is better checked by its caller first, which can list the types.)
 */
import type { TObject, TSchema } from '@sinclair/typebox';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import { httpUrlProblem } from './url.js';

/** The most useful problem of `value` against `schema`, "<path>: <what is wrong>"; null when it is valid. */
export function firstProblem(schema: TSchema, value: unknown, path = ''): string | null {
  const errors = [...Value.Errors(schema, value)];
  if (errors.length === 0) return null;
  // An unknown key is usually the misspelling of the missing one it comes with: name it first.
  const e = errors.find((x) => x.type === ValueErrorType.ObjectAdditionalProperties) ?? errors[0]!;
  if (e.type === ValueErrorType.Union) return unionProblem(e, path);
  return describe(e, path + e.path);
}

function unionProblem(e: ValueError, path: string): string {
  const members = (e.schema.anyOf ?? []) as TSchema[];
  const v = e.value;
  const keys = v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : [];
  let best: TSchema | undefined;
  let bestScore = -1;
  for (const m of members) {
    const props = (m as Partial<TObject>).properties ?? {};
    const score = keys.filter((k) => k in props).length;
    if (score > bestScore) [best, bestScore] = [m, score];
  }
  if (!best || keys.length === 0)
    return `${at(path + e.path)}: expected ${members.map(expected).join(', or ')}; got ${shown(v)}`;
  return firstProblem(best, v, path + e.path) ?? `${at(path + e.path)}: ${e.message}`;
}

function describe(e: ValueError, path: string): string {
  const s = e.schema;
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const { parent, key } = split(path);
      const allowed = Object.keys((s as TObject).properties ?? {});
      const guess = closest(key, allowed);
      return `${at(parent)}: unknown field "${key}"${guess ? ` — did you mean ${guess}?` : ''} (allowed: ${allowed.join(', ') || 'none'})`;
    }
    case ValueErrorType.ObjectRequiredProperty: {
      const { parent, key } = split(path);
      return `${at(parent)}: ${key} is missing${s.description ? ` (${s.description})` : ''}`;
    }
    case ValueErrorType.StringFormat:
      if (s.format === 'http-url' && typeof e.value === 'string')
        return `${at(path)}: ${shown(e.value)} ${httpUrlProblem(e.value)}`;
      return `${at(path)}: expected ${s.format} format; got ${shown(e.value)}`;
    case ValueErrorType.Integer:
    case ValueErrorType.Number: {
      const hint = typeof e.value === 'string' ? millisecondsHint(e.value) : '';
      return `${at(path)}: expected ${expected(s)}; got ${shown(e.value)}${hint}`;
    }
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return `${at(path)}: must be at least ${s.minimum}; got ${shown(e.value)}`;
    case ValueErrorType.StringMinLength:
      return `${at(path)}: must not be empty`;
    case ValueErrorType.StringPattern:
      return `${at(path)}: ${shown(e.value)} does not match ${s.pattern}`;
    case ValueErrorType.ArrayMinItems:
      return `${at(path)}: needs at least ${s.minItems} item${s.minItems === 1 ? '' : 's'}`;
    default:
      return `${at(path)}: expected ${expected(s)}; got ${shown(e.value)}`;
  }
}

/** What a schema accepts, in words. */
function expected(s: TSchema): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.anyOf) return (s.anyOf as TSchema[]).map(expected).join(' or ');
  switch (s.type) {
    case 'integer':
      return `an integer${s.minimum !== undefined ? ` >= ${s.minimum}` : ''}${s.description ? ` (${s.description})` : ''}`;
    case 'number':
      return 'a number';
    case 'string':
      return s.format === 'http-url' ? 'an http:// or https:// URL' : 'a string';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
      return s.properties ? `a mapping with ${Object.keys(s.properties).join(', ')}` : 'a mapping (key: value)';
    default:
      return String(s.type ?? 'a valid value');
  }
}

/** "10s", "1500ms", "2m": the number of milliseconds it means, as the fix. */
function millisecondsHint(text: string): string {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min)?\s*$/i.exec(text);
  if (!m) return '';
  const factor = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000 }[(m[2] ?? 'ms').toLowerCase()] ?? 1;
  return ` — write milliseconds as a plain number: ${Math.round(Number(m[1]) * factor)}`;
}

/** The allowed key `key` was probably meant to be: same letters ignoring case and separators, or one or two typos away. */
export function closest(key: string, allowed: readonly string[]): string | undefined {
  const norm = (k: string) => k.toLowerCase().replace(/[-_\s.]/g, '');
  const exact = allowed.find((a) => norm(a) === norm(key));
  if (exact) return exact;
  // At most two typos, fewer for short keys (else "id" would suggest any two-letter key).
  let best: string | undefined;
  let bestDistance = Math.min(2, Math.floor(key.length / 3)) + 1;
  for (const a of allowed) {
    const d = distance(norm(a), norm(key));
    if (d < bestDistance) [best, bestDistance] = [a, d];
  }
  return best;
}

/** Levenshtein distance (short keys only). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

const at = (path: string) => path || '/';

function split(path: string): { parent: string; key: string } {
  const i = path.lastIndexOf('/');
  return {
    parent: path.slice(0, i),
    key: path
      .slice(i + 1)
      .replace(/~1/g, '/')
      .replace(/~0/g, '~'),
  };
}

/** A value as it appears in a message: JSON, at most 80 characters. */
export function shown(v: unknown): string {
  const text = v === undefined ? 'nothing' : (JSON.stringify(v) ?? String(v));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
