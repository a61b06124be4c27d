/**
 * How much work a query asks for, measured on its parse tree before any validation: the
 * fields it selects (aliases and fragment spreads expanded) and how deeply it nests. Both
 * bound what a client can make the server do: the schema's only cycle is introspection's
 * (__Type.fields → type → fields …), where each level multiplies the result. List sizes are
 * bounded separately (first <= 100).
 */
import { type DocumentNode, type FragmentDefinitionNode, GraphQLError, Kind, type SelectionSetNode } from 'graphql';

export interface QueryLimits {
  /** Most fields one operation may select. */
  maxFields: number;
  /** Deepest nesting one operation may have. */
  maxDepth: number;
}

interface Size {
  fields: number;
  depth: number;
}

const NOTHING: Size = { fields: 0, depth: 0 };

/**
 * `ofType` adds no depth: it is __Type's single-valued link to a wrapped type, so a chain of
 * them multiplies nothing and ends within a few levels (GraphiQL's introspection query nests
 * seven to read `[String!]!`-style types; counted, it would be 15 deep). No type of Parley's
 * own schema has a field of that name, so it can only be __Type's (anything else is refused
 * by validation).
 */
const FREE_LEVEL = 'ofType';

/** QUERY_TOO_COMPLEX errors for each operation over a limit; empty when the document is within them. */
export function limitErrors(document: DocumentNode, limits: QueryLimits): GraphQLError[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const memo = new Map<string, Size>();

  const measure = (set: SelectionSetNode | undefined, seen: ReadonlySet<string>): Size => {
    if (!set) return NOTHING;
    let fields = 0;
    let depth = 0;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        const inner = measure(s.selectionSet, seen);
        fields += 1 + inner.fields;
        depth = Math.max(depth, inner.depth + (s.name.value === FREE_LEVEL ? 0 : 1));
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        const inner = measure(s.selectionSet, seen);
        fields += inner.fields;
        depth = Math.max(depth, inner.depth);
      } else {
        const name = s.name.value;
        if (seen.has(name)) continue; // a cycle: validation (NoFragmentCycles) reports it
        let inner = memo.get(name);
        if (!inner) {
          inner = measure(fragments.get(name)?.selectionSet, new Set([...seen, name]));
          memo.set(name, inner);
        }
        fields += inner.fields;
        depth = Math.max(depth, inner.depth);
      }
      // Stop counting once over: a wide query costs no more to refuse than a small one.
      if (fields > limits.maxFields) break;
    }
    return { fields, depth };
  };

  const errors: GraphQLError[] = [];
  for (const d of document.definitions) {
    if (d.kind !== Kind.OPERATION_DEFINITION) continue;
    const { fields, depth } = measure(d.selectionSet, new Set());
    const tooComplex = (message: string) =>
      new GraphQLError(message, { nodes: d, extensions: { code: 'QUERY_TOO_COMPLEX' } });
    if (fields > limits.maxFields)
      errors.push(
        tooComplex(
          `Query too complex: it selects more than ${limits.maxFields} fields (aliases and fragments included).`,
        ),
      );
    else if (depth > limits.maxDepth)
      errors.push(
        tooComplex(
          `Query too deep: it nests ${depth} levels, at most ${limits.maxDepth} are allowed (introspection's ofType chains not counted).`,
        ),
      );
  }
  return errors;
}
