/**
 * Which subgraph calls the entity cache serves, decided once per query text: an
 * `_entities(representations: $var)` query (the gateway's query planner writes them) whose every
 * selected field, through fragments and nested objects, is public in that subgraph. `__typename` is
 * always fine. Anything else (root fields, mutations, a private field anywhere, a directive other
 * than @include/@skip) goes to the subgraph untouched.
 */
import { Kind, parse, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import type { EntityCachePolicy } from './policy.js';

export interface CacheableCall {
  cacheable: true;
  /** The variable holding the representations. */
  representationsVariable: string;
  /** The smallest maxAge of the selected fields (seconds). */
  maxAge: number;
  /** Every object type the selection reaches (the entities' own types included). */
  types: readonly string[];
  /** The `_entities` field's selections, with the document's fragments, to find the entities an answer holds. */
  selectionSet: SelectionSetNode;
  fragments: ReadonlyMap<string, FragmentDefinitionNode>;
}

export type CallDecision = CacheableCall | { cacheable: false; reason: string };

const ALLOWED_DIRECTIVES = new Set(['include', 'skip']);

class Private extends Error {}

/** Decides one query text against a subgraph's declarations. */
export function decideCall(policy: EntityCachePolicy, subgraph: string, query: string): CallDecision {
  let document;
  try {
    document = parse(query);
  } catch {
    return { cacheable: false, reason: 'unparsable' };
  }
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const operation = operations[0];
  if (operations.length !== 1 || operation!.operation !== 'query') return { cacheable: false, reason: 'not a query' };
  const roots = operation!.selectionSet.selections;
  const root = roots[0];
  if (roots.length !== 1 || root!.kind !== Kind.FIELD || root!.name.value !== '_entities' || root!.alias)
    return { cacheable: false, reason: 'not an _entities call' };
  const representations = root!.arguments?.find((a) => a.name.value === 'representations');
  if (root!.arguments?.length !== 1 || representations?.value.kind !== Kind.VARIABLE || !root!.selectionSet)
    return { cacheable: false, reason: 'representations not a variable' };
  if (root!.directives?.length) return { cacheable: false, reason: 'directive on _entities' };

  const types = new Set<string>();
  let maxAge = Infinity;
  const check = (selectionSet: SelectionSetNode, type: string, seen: ReadonlySet<string>): void => {
    for (const selection of selectionSet.selections) {
      if (selection.directives?.some((d) => !ALLOWED_DIRECTIVES.has(d.name.value)))
        throw new Private(`directive in ${type}`);
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === '__typename') continue;
        const field = policy.field(subgraph, type, selection.name.value);
        if (!field) throw new Private(`${type}.${selection.name.value} is not public in ${subgraph}`);
        maxAge = Math.min(maxAge, field.maxAge);
        if (selection.selectionSet) {
          for (const object of policy.possibleTypes(field.returns)) {
            types.add(object);
            check(selection.selectionSet, object, seen);
          }
        }
      } else {
        const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments.get(selection.name.value);
        if (!fragment) throw new Private(`unknown fragment`);
        if (selection.kind === Kind.FRAGMENT_SPREAD) {
          // A fragment spread inside itself is invalid GraphQL; refuse it rather than loop.
          if (seen.has(selection.name.value)) throw new Private('recursive fragment');
        }
        const condition = fragment.typeCondition?.name.value;
        if (condition && condition !== type && !policy.possibleTypes(condition).includes(type)) continue;
        const inner = selection.kind === Kind.FRAGMENT_SPREAD ? new Set([...seen, selection.name.value]) : seen;
        check(fragment.selectionSet, type, inner);
      }
    }
  };
  try {
    // The entity union: only `__typename` and fragments on entity types (each checked as that type).
    for (const selection of root!.selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value !== '__typename') throw new Private('a field on _Entity');
        continue;
      }
      if (selection.directives?.length) throw new Private('directive on an entity fragment');
      const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments.get(selection.name.value);
      const condition = fragment?.typeCondition?.name.value;
      if (!fragment || !condition) throw new Private('entity fragment without a type');
      for (const object of policy.possibleTypes(condition)) {
        types.add(object);
        check(fragment.selectionSet, object, new Set());
      }
    }
  } catch (err) {
    if (err instanceof Private) return { cacheable: false, reason: err.message };
    throw err;
  }
  if (types.size === 0 || maxAge === Infinity) return { cacheable: false, reason: 'nothing selected' };
  return {
    cacheable: true,
    representationsVariable: representations.value.name.value,
    maxAge,
    types: [...types].sort(),
    selectionSet: root!.selectionSet,
    fragments,
  };
}

/** Decisions of one policy by query text, bounded: the planner writes a bounded set, a client cannot add. */
export class CallDecisions {
  private readonly decisions = new Map<string, CallDecision>();
  constructor(
    private readonly policy: EntityCachePolicy,
    private readonly maxEntries = 2_000,
  ) {}

  get(subgraph: string, query: string): CallDecision {
    const key = `${subgraph}\n${query}`;
    let decision = this.decisions.get(key);
    if (!decision) {
      decision = decideCall(this.policy, subgraph, query);
      // The oldest decision goes first: it is parsed again if ever needed.
      if (this.decisions.size >= this.maxEntries) this.decisions.delete(this.decisions.keys().next().value!);
      this.decisions.set(key, decision);
    }
    return decision;
  }
}
