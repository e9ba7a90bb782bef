/**
 * The figures an operation is judged by: its shape (depth, recursion, aliases, root fields), read
 * before validation, and its estimated cost, read before execution. Both follow fragment spreads
 * and inline fragments; a fragment's figures are computed once per document (so a "fragment bomb"
 * that spreads fragments into each other costs a linear walk), and a fragment already being
 * walked adds nothing (cycles, which validation refuses afterwards, cannot hang or overflow).
 */
import {
  Kind,
  visit,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { isComposite, type CostTable, type FieldCost } from './cost-table.js';
import { DEFAULT_PAGE_SIZE, MUTATION_ROOT_WEIGHT } from './settings.js';

/** The shape of a document: the worst figure over its operations. */
export interface Shape {
  /** Deepest field nesting: a root field is at depth 1, `{ me { id } }` is 2. */
  depth: number;
  /** The field coordinate repeated most along one path, and how often (0 and '' for no fields). */
  recursion: { coordinate: string; count: number };
  /** Aliased fields written in the document (fragments counted once, where they are defined). */
  aliases: number;
  /** Top-level fields of an operation, fragments expanded. */
  rootFields: number;
}

interface Summary {
  depth: number;
  /** For each coordinate, the most times it appears along one path. */
  counts: Map<string, number>;
  fields: number;
}

const EMPTY: Summary = { depth: 0, counts: new Map(), fields: 0 };

/** `__Type.ofType` unwraps list and non-null wrappers: a chain the schema bounds, one object per level. */
const isTypeWrapperField = (parentType: string, field: string) => parentType === '__Type' && field === 'ofType';

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const out = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) out.set(def.name.value, def);
  return out;
}

function rootTypeOf(table: CostTable, operation: OperationDefinitionNode): string {
  return operation.operation === 'mutation'
    ? table.mutation
    : operation.operation === 'subscription'
      ? table.subscription
      : table.query;
}

/** The field a selection names on `parentType`, the introspection entry points included. */
function fieldOf(table: CostTable, parentType: string, name: string): FieldCost | undefined {
  const field = table.types.get(parentType)?.fields.get(name);
  if (field) return field;
  if (parentType === table.query && name === '__schema') return { type: '__Schema', list: false, args: new Map() };
  if (parentType === table.query && name === '__type')
    return { type: '__Type', list: false, args: new Map([['name', undefined]]) };
  return undefined;
}

function maxMerge(into: Map<string, number>, from: Map<string, number>): void {
  for (const [coordinate, count] of from) if ((into.get(coordinate) ?? 0) < count) into.set(coordinate, count);
}

/** Depth, recursion and root fields of every operation, aliases of the whole document. */
export function analyseShape(document: DocumentNode, table: CostTable): Shape {
  const fragments = fragmentsOf(document);
  const memo = new Map<string, Summary>();
  const walking = new Set<string>();

  const summarise = (set: SelectionSetNode, parentType: string): Summary => {
    const out: Summary = { depth: 0, counts: new Map(), fields: 0 };
    const add = (s: Summary) => {
      if (s.depth > out.depth) out.depth = s.depth;
      maxMerge(out.counts, s.counts);
      out.fields += s.fields;
    };
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        const type = fieldOf(table, parentType, name)?.type ?? '?';
        const child = selection.selectionSet ? summarise(selection.selectionSet, type) : EMPTY;
        const wrapper = isTypeWrapperField(parentType, name);
        const counts = new Map(child.counts);
        if (!wrapper) {
          const coordinate = `${parentType}.${name}`;
          counts.set(coordinate, (counts.get(coordinate) ?? 0) + 1);
        }
        add({ depth: child.depth + (wrapper ? 0 : 1), counts, fields: 1 });
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        add(summarise(selection.selectionSet, selection.typeCondition?.name.value ?? parentType));
      } else {
        add(fragmentSummary(selection.name.value));
      }
    }
    return out;
  };

  const fragmentSummary = (name: string): Summary => {
    const known = memo.get(name);
    if (known) return known;
    const fragment = fragments.get(name);
    if (!fragment || walking.has(name)) return EMPTY;
    walking.add(name);
    const summary = summarise(fragment.selectionSet, fragment.typeCondition.name.value);
    walking.delete(name);
    memo.set(name, summary);
    return summary;
  };

  const shape: Shape = { depth: 0, recursion: { coordinate: '', count: 0 }, aliases: 0, rootFields: 0 };
  for (const def of document.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue;
    const summary = summarise(def.selectionSet, rootTypeOf(table, def));
    shape.depth = Math.max(shape.depth, summary.depth);
    shape.rootFields = Math.max(shape.rootFields, summary.fields);
    for (const [coordinate, count] of summary.counts)
      if (count > shape.recursion.count) shape.recursion = { coordinate, count };
  }
  // visit() walks without recursion, so a deeply nested document cannot overflow the stack here.
  visit(document, {
    Field(node) {
      if (node.alias) shape.aliases++;
    },
  });
  return shape;
}

export interface CostOptions {
  /** Assumed length of a list field without `first` or `@listSize(assumedSize:)`. */
  defaultListSize: number;
}

type Variables = Record<string, unknown> | null | undefined;

/** An integer argument's value (literal or variable), or undefined when absent, null or not a number. */
function intArgument(field: FieldNode, name: string, variables: Variables): number | undefined {
  const value = field.arguments?.find((a) => a.name.value === name)?.value;
  const raw =
    value?.kind === Kind.VARIABLE
      ? variables?.[value.name.value]
      : value?.kind === Kind.INT
        ? Number(value.value)
        : undefined;
  if (typeof raw !== 'number' || !Number.isFinite(raw)) return undefined;
  return Math.max(0, Math.floor(raw));
}

function listLength(value: ValueNode | undefined, variables: Variables): number {
  if (value?.kind === Kind.LIST) return value.values.length;
  if (value?.kind === Kind.VARIABLE) {
    const raw = variables?.[value.name.value];
    return Array.isArray(raw) ? raw.length : 1;
  }
  return 1;
}

/**
 * The estimated cost of the operation `operation` of `document` with `variables`:
 * cost(field) = weight + multiplier × cost(its selection set); see the README for the weights and
 * multipliers. Assumes a valid document (it runs before execution, after validation).
 */
export function operationCost(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  table: CostTable,
  variables: Variables,
  options: CostOptions,
): number {
  const fragments = fragmentsOf(document);
  const memo = new Map<string, number>();
  const walking = new Set<string>();
  const rootType = rootTypeOf(table, operation);

  const multiplier = (field: FieldNode, def: FieldCost, parentType: string): number => {
    const name = field.name.value;
    if (parentType === table.query && name === '_entities') {
      return listLength(field.arguments?.find((a) => a.name.value === 'representations')?.value, variables);
    }
    const listSize = def.listSize;
    if (listSize?.slicingArguments?.length) {
      const given = listSize.slicingArguments
        .map((a) => intArgument(field, a, variables) ?? def.args.get(a))
        .filter((n): n is number => n !== undefined);
      if (given.length > 0) return Math.max(...given);
      return listSize.assumedSize ?? (def.list ? options.defaultListSize : DEFAULT_PAGE_SIZE);
    }
    if (def.args.has('first'))
      return intArgument(field, 'first', variables) ?? def.args.get('first') ?? DEFAULT_PAGE_SIZE;
    // A connection's edges (or nodes) are as many as its `first`, already counted on the connection.
    if (parentType.endsWith('Connection') && (name === 'edges' || name === 'nodes')) return 1;
    if (def.list) return listSize?.assumedSize ?? options.defaultListSize;
    return 1;
  };

  const fieldCost = (field: FieldNode, parentType: string): number => {
    const name = field.name.value;
    if (name === '__typename') return 0;
    const def = fieldOf(table, parentType, name);
    if (!def) return 0;
    const weight =
      def.weight ??
      (parentType === rootType && operation.operation === 'mutation' ? MUTATION_ROOT_WEIGHT : undefined) ??
      table.types.get(def.type)?.weight ??
      (isComposite(table, def.type) ? 1 : 0);
    if (!field.selectionSet) return weight;
    const n = multiplier(field, def, parentType);
    const sized = def.listSize?.sizedFields;
    if (sized?.length)
      return weight + setCost(field.selectionSet, def.type, { names: new Set(sized), n, seen: new Set() });
    return weight + n * setCost(field.selectionSet, def.type);
  };

  /** With `sized`, the fields it names (the sized fields of the parent's @listSize) are multiplied by its `n`. */
  const setCost = (
    set: SelectionSetNode,
    parentType: string,
    sized?: { names: Set<string>; n: number; seen: Set<string> },
  ): number => {
    let total = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const cost = fieldCost(selection, parentType);
        total += sized?.names.has(selection.name.value) ? sized.n * cost : cost;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        total += setCost(selection.selectionSet, selection.typeCondition?.name.value ?? parentType, sized);
      } else if (sized) {
        // Not memoised (the sizing belongs to this level): each fragment is expanded once per level,
        // as execution collects fields, so nested spreads cannot multiply the walk.
        const fragment = fragments.get(selection.name.value);
        if (fragment && !sized.seen.has(fragment.name.value)) {
          sized.seen.add(fragment.name.value);
          total += setCost(fragment.selectionSet, fragment.typeCondition.name.value, sized);
        }
      } else {
        total += fragmentCost(selection.name.value);
      }
    }
    return total;
  };

  const fragmentCost = (name: string): number => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const fragment = fragments.get(name);
    if (!fragment || walking.has(name)) return 0;
    walking.add(name);
    const cost = setCost(fragment.selectionSet, fragment.typeCondition.name.value);
    walking.delete(name);
    memo.set(name, cost);
    return cost;
  };

  return setCost(operation.selectionSet, rootType);
}
