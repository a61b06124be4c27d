/**
 * A cost limit for queries, beside mercurius' depth limit: counts every field the query
 * would resolve, aliases and fragment spreads expanded, so wide or aliased queries can't
 * make the server do unbounded work. List sizes are bounded separately (first <= 100).
 */
import { GraphQLError, Kind, type FragmentDefinitionNode, type SelectionSetNode, type ValidationRule } from 'graphql';

export function maxFieldsRule(max: number): ValidationRule {
  return (context) => {
    const doc = context.getDocument();
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    const memo = new Map<string, number>();
    const cost = (set: SelectionSetNode | undefined, seen: Set<string>): number => {
      if (!set) return 0;
      let n = 0;
      for (const s of set.selections) {
        if (s.kind === Kind.FIELD) n += 1 + cost(s.selectionSet, seen);
        else if (s.kind === Kind.INLINE_FRAGMENT) n += cost(s.selectionSet, seen);
        else {
          const name = s.name.value;
          if (seen.has(name)) continue; // a cycle: the standard NoFragmentCycles rule reports it
          if (!memo.has(name)) memo.set(name, cost(fragments.get(name)?.selectionSet, new Set([...seen, name])));
          n += memo.get(name)!;
        }
        if (n > max) return n;
      }
      return n;
    };
    for (const d of doc.definitions) {
      if (d.kind !== Kind.OPERATION_DEFINITION) continue;
      const n = cost(d.selectionSet, new Set());
      if (n > max) context.reportError(new GraphQLError(`Query too complex: it selects more than ${max} fields (aliases and fragments included).`, { nodes: d, extensions: { code: 'QUERY_TOO_COMPLEX' } }));
    }
    return {};
  };
}
