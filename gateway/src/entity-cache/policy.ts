/**
 * What the entity cache may keep, read from a supergraph: per subgraph, type and field, whether the
 * value is public (the same for every caller) and for how long. Subgraphs declare it with
 * `@publicCache(maxAge:)` (its definition in each subgraph's SDL says what it means), composed into
 * the supergraph with `@composeDirective`.
 *
 * Composition keeps a composed directive but not which subgraph wrote it, so a declaration is
 * attributed by where the field is resolved:
 * - on a field: public in every subgraph that resolves the field (one, or several for a @shareable
 *   field, which federation requires to resolve the same everywhere);
 * - on a value type (no @key): every field of it, wherever resolved (value types' fields are shareable);
 * - on an entity type (with @key): refused, since it would extend one subgraph's promise to the
 *   fields other subgraphs add to the entity (enrollment's Course.viewerEnrollment beside course's
 *   Course.title). Entities declare field by field.
 */
import {
  Kind,
  parse,
  type ConstDirectiveNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type ObjectTypeDefinitionNode,
  type TypeNode,
} from 'graphql';

export const PUBLIC_CACHE_DIRECTIVE = 'publicCache';
/** maxAge of `@publicCache` without one (the directive's default). */
const DEFAULT_MAX_AGE_S = 60;

export interface PublicField {
  /** Seconds the value may be kept. */
  maxAge: number;
  /** The named type the field returns. */
  returns: string;
}

export interface EntityCachePolicy {
  /** The field as public in `subgraph`, or undefined: private (never kept). */
  field(subgraph: string, type: string, field: string): PublicField | undefined;
  /** Object types of a union or interface (the type itself for an object type). */
  possibleTypes(type: string): readonly string[];
  /** Whether the type is an entity (has a @key in some subgraph): what invalidations name. */
  isEntity(type: string): boolean;
  /** Declarations the policy could not honour, said once when the supergraph is loaded. */
  problems: readonly string[];
}

const named = (type: TypeNode): string => (type.kind === Kind.NAMED_TYPE ? type.name.value : named(type.type));

const directives = (node: { directives?: readonly ConstDirectiveNode[] | undefined }, name: string) =>
  (node.directives ?? []).filter((d) => d.name.value === name);

function argument(directive: ConstDirectiveNode, name: string): unknown {
  const arg = directive.arguments?.find((a) => a.name.value === name);
  if (!arg) return undefined;
  const value = arg.value;
  if (value.kind === Kind.INT) return Number(value.value);
  if (value.kind === Kind.ENUM || value.kind === Kind.STRING) return value.value;
  if (value.kind === Kind.BOOLEAN) return value.value;
  return undefined;
}

function maxAgeOf(directive: ConstDirectiveNode | undefined): number | undefined {
  if (!directive) return undefined;
  const maxAge = argument(directive, 'maxAge');
  return typeof maxAge === 'number' ? maxAge : DEFAULT_MAX_AGE_S;
}

/** Builds the policy of one supergraph SDL (what `npm run compose` writes). */
export function entityCachePolicy(supergraphSdl: string | DocumentNode): EntityCachePolicy {
  const document = typeof supergraphSdl === 'string' ? parse(supergraphSdl) : supergraphSdl;
  // join__Graph's values name the subgraphs: `COURSE @join__graph(name: "course", ...)`.
  const graphNames = new Map<string, string>();
  const public_ = new Map<string, PublicField>();
  const possible = new Map<string, string[]>();
  const entities = new Set<string>();
  const problems: string[] = [];
  const objects: ObjectTypeDefinitionNode[] = [];
  for (const definition of document.definitions) {
    if (definition.kind === Kind.ENUM_TYPE_DEFINITION && definition.name.value === 'join__Graph') {
      for (const value of definition.values ?? []) {
        const name = argument(directives(value, 'join__graph')[0]!, 'name');
        if (typeof name === 'string') graphNames.set(value.name.value, name);
      }
    } else if (definition.kind === Kind.OBJECT_TYPE_DEFINITION) {
      objects.push(definition);
    } else if (definition.kind === Kind.UNION_TYPE_DEFINITION) {
      possible.set(
        definition.name.value,
        (definition.types ?? []).map((t) => t.name.value),
      );
    }
  }
  for (const object of objects) {
    for (const iface of object.interfaces ?? []) {
      const list = possible.get(iface.name.value) ?? [];
      list.push(object.name.value);
      possible.set(iface.name.value, list);
    }
    const typeGraphs = directives(object, 'join__type');
    const isEntity = typeGraphs.some((d) => argument(d, 'key') !== undefined);
    if (isEntity) entities.add(object.name.value);
    let typeMaxAge = maxAgeOf(directives(object, PUBLIC_CACHE_DIRECTIVE)[0]);
    if (typeMaxAge !== undefined && isEntity) {
      problems.push(
        `@publicCache on the entity type ${object.name.value} is ignored: declare its public fields one by one`,
      );
      typeMaxAge = undefined;
    }
    const allGraphs = typeGraphs.map((d) => String(argument(d, 'graph')));
    for (const field of object.fields ?? []) {
      const maxAge = maxAgeOf(directives(field, PUBLIC_CACHE_DIRECTIVE)[0]) ?? typeMaxAge;
      if (maxAge === undefined) continue;
      for (const graph of resolvingGraphs(field, allGraphs)) {
        const subgraph = graphNames.get(graph);
        if (subgraph)
          public_.set(`${subgraph}.${object.name.value}.${field.name.value}`, { maxAge, returns: named(field.type) });
      }
    }
  }
  return {
    field: (subgraph, type, field) => public_.get(`${subgraph}.${type}.${field}`),
    possibleTypes: (type) => possible.get(type) ?? [type],
    isEntity: (type) => entities.has(type),
    problems,
  };
}

/** The graphs that resolve a field: its @join__field graphs (not external), else every graph of its type. */
function resolvingGraphs(field: FieldDefinitionNode, typeGraphs: readonly string[]): readonly string[] {
  const joins = directives(field, 'join__field');
  if (joins.length === 0) return typeGraphs;
  return joins
    .filter((d) => argument(d, 'external') !== true && argument(d, 'graph') !== undefined)
    .map((d) => String(argument(d, 'graph')));
}
