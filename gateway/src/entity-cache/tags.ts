/**
 * The entities one cached `_entities` answer holds, as the response cache's tags (`Course:<id>`, or
 * `Course:*` when the id was not selected): an invalidation of any of them drops the answer. Found by
 * walking the answer along the call's selections, typed by the policy.
 */
import { Kind, type SelectionSetNode } from 'graphql';
import type { CacheableCall } from './decision.js';
import type { EntityCachePolicy } from './policy.js';

export function entityTags(
  policy: EntityCachePolicy,
  subgraph: string,
  call: CacheableCall,
  representation: { __typename: string; id?: unknown },
  value: unknown,
): Set<string> {
  const tags = new Set<string>();
  const walk = (selectionSet: SelectionSetNode, type: string, object: Record<string, unknown>, knownId?: unknown) => {
    let id: unknown = knownId;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        if (selection.name.value === 'id') id = object[key];
        const field = policy.field(subgraph, type, selection.name.value);
        if (field && selection.selectionSet) visit(selection.selectionSet, field.returns, object[key]);
      } else {
        const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : call.fragments.get(selection.name.value);
        const condition = fragment?.typeCondition?.name.value;
        if (fragment && (!condition || condition === type || policy.possibleTypes(condition).includes(type)))
          walk(fragment.selectionSet, type, object, id);
      }
    }
    if (policy.isEntity(type)) tags.add(typeof id === 'string' ? `${type}:${id}` : `${type}:*`);
  };
  const visit = (selectionSet: SelectionSetNode, type: string, value: unknown): void => {
    if (value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      for (const item of value) visit(selectionSet, type, item);
      return;
    }
    const object = value as Record<string, unknown>;
    // An abstract position names its object's type when the planner asked for __typename; else every possible one.
    const types = typeof object.__typename === 'string' ? [object.__typename] : policy.possibleTypes(type);
    for (const t of types) walk(selectionSet, t, object);
  };
  // The entity itself is known by its representation even when its id is not selected.
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    walk(call.selectionSet, representation.__typename, value as Record<string, unknown>, representation.id);
  return tags;
}
