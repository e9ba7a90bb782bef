/**
 * What the cost analysis needs to know about a schema, read from SDL text (a subgraph's own SDL file,
 * or the gateway's composed supergraph): each field's return type, whether it is a list, its
 * declared `@cost` and `@listSize`, and its `first` default. Built from SDL rather than from a built
 * schema's astNodes, because the gateway's API schema does not keep the directives.
 */
import {
  Kind,
  parse,
  introspectionTypes,
  getNamedType,
  isListType,
  isNonNullType,
  isObjectType,
  isInterfaceType,
  isUnionType,
  isScalarType,
  isEnumType,
  isInputObjectType,
  type ConstDirectiveNode,
  type ConstValueNode,
  type DocumentNode,
  type GraphQLOutputType,
  type GraphQLType,
  type TypeNode,
} from 'graphql';

/** The demand-control `@listSize` of a field (https://ibm.github.io/graphql-specs/cost-spec.html). */
export interface ListSize {
  assumedSize?: number;
  slicingArguments?: string[];
  sizedFields?: string[];
  /** Read for completeness; not enforced, since the platform's `first` is optional (default 20). */
  requireOneSlicingArgument: boolean;
}

export interface FieldCost {
  /** The named type the field returns. */
  type: string;
  /** True when the return type has a list wrapper. */
  list: boolean;
  /** Declared `@cost(weight:)`, if any. */
  weight?: number;
  listSize?: ListSize;
  /** Arguments the field declares, with their integer default values (undefined when none). */
  args: Map<string, number | undefined>;
}

export type TypeKind = 'object' | 'interface' | 'union' | 'scalar' | 'enum' | 'input';

export interface TypeCost {
  kind: TypeKind;
  /** Type-level `@cost(weight:)`: the default weight of fields returning this type. */
  weight?: number;
  fields: Map<string, FieldCost>;
}

export interface CostTable {
  types: Map<string, TypeCost>;
  query: string;
  mutation: string;
  subscription: string;
}

const BUILT_IN_SCALARS = ['String', 'Int', 'Float', 'Boolean', 'ID'];
/** The names a cost directive may carry: imported as is, or namespaced by federation or the cost spec. */
const COST_NAMES = new Set(['cost', 'federation__cost', 'cost__cost']);
const LIST_SIZE_NAMES = new Set(['listSize', 'federation__listSize', 'cost__listSize']);

const intValue = (value: ConstValueNode | undefined): number | undefined =>
  value?.kind === Kind.INT ? Number(value.value) : undefined;

function argumentOf(directive: ConstDirectiveNode, name: string): ConstValueNode | undefined {
  return directive.arguments?.find((a) => a.name.value === name)?.value;
}

function stringList(value: ConstValueNode | undefined): string[] | undefined {
  if (!value) return undefined;
  if (value.kind === Kind.STRING) return [value.value];
  if (value.kind !== Kind.LIST) return undefined;
  return value.values.flatMap((v) => (v.kind === Kind.STRING ? [v.value] : []));
}

function costOf(directives: readonly ConstDirectiveNode[] | undefined, costNames: Set<string>): number | undefined {
  const cost = directives?.find((d) => costNames.has(d.name.value));
  return cost ? intValue(argumentOf(cost, 'weight')) : undefined;
}

function listSizeOf(
  directives: readonly ConstDirectiveNode[] | undefined,
  listSizeNames: Set<string>,
): ListSize | undefined {
  const d = directives?.find((x) => listSizeNames.has(x.name.value));
  if (!d) return undefined;
  const require = argumentOf(d, 'requireOneSlicingArgument');
  return {
    assumedSize: intValue(argumentOf(d, 'assumedSize')),
    slicingArguments: stringList(argumentOf(d, 'slicingArguments')),
    sizedFields: stringList(argumentOf(d, 'sizedFields')),
    requireOneSlicingArgument: require?.kind === Kind.BOOLEAN ? require.value : true,
  };
}

function unwrap(type: TypeNode): { type: string; list: boolean } {
  let list = false;
  let t = type;
  while (t.kind !== Kind.NAMED_TYPE) {
    if (t.kind === Kind.LIST_TYPE) list = true;
    t = t.type;
  }
  return { type: t.name.value, list };
}

/** `as:` names given to the cost spec by `@link(url: ".../cost/v0.1", as: "...")`, and imports renamed there. */
function linkedNames(document: DocumentNode): { cost: Set<string>; listSize: Set<string> } {
  const cost = new Set(COST_NAMES);
  const listSize = new Set(LIST_SIZE_NAMES);
  for (const def of document.definitions) {
    if (def.kind !== Kind.SCHEMA_DEFINITION && def.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const link of def.directives ?? []) {
      if (link.name.value !== 'link') continue;
      const url = argumentOf(link, 'url');
      if (url?.kind !== Kind.STRING || !/\/(cost|federation)\/v[\d.]+$/.test(url.value)) continue;
      const as = argumentOf(link, 'as');
      if (as?.kind === Kind.STRING) {
        cost.add(`${as.value}__cost`);
        listSize.add(`${as.value}__listSize`);
      }
      const imports = argumentOf(link, 'import');
      if (imports?.kind !== Kind.LIST) continue;
      for (const item of imports.values) {
        if (item.kind !== Kind.OBJECT) continue;
        const name = item.fields.find((f) => f.name.value === 'name')?.value;
        const renamed = item.fields.find((f) => f.name.value === 'as')?.value;
        if (name?.kind !== Kind.STRING || renamed?.kind !== Kind.STRING) continue;
        if (name.value === '@cost') cost.add(renamed.value.replace(/^@/, ''));
        if (name.value === '@listSize') listSize.add(renamed.value.replace(/^@/, ''));
      }
    }
  }
  return { cost, listSize };
}

function namedOf(type: GraphQLType): { type: string; list: boolean } {
  let list = false;
  let t: GraphQLType = type;
  while (isNonNullType(t) || isListType(t)) {
    if (isListType(t)) list = true;
    t = t.ofType;
  }
  return { type: getNamedType(type as GraphQLOutputType).name, list };
}

/** The introspection types (`__Schema`, `__Type`, ...) are in every schema but in no SDL. */
function addIntrospectionTypes(types: Map<string, TypeCost>): void {
  for (const type of introspectionTypes) {
    if (isObjectType(type)) {
      const fields = new Map<string, FieldCost>();
      for (const field of Object.values(type.getFields())) {
        fields.set(field.name, { ...namedOf(field.type), args: new Map(field.args.map((a) => [a.name, undefined])) });
      }
      types.set(type.name, { kind: 'object', fields });
    } else if (isEnumType(type)) types.set(type.name, { kind: 'enum', fields: new Map() });
    else if (isScalarType(type) || isInputObjectType(type) || isInterfaceType(type) || isUnionType(type))
      types.set(type.name, { kind: 'scalar', fields: new Map() });
  }
}

/** Builds the cost table of an SDL document (a subgraph's SDL file or a supergraph). */
export function costTableFromSdl(sdl: string | DocumentNode): CostTable {
  const document = typeof sdl === 'string' ? parse(sdl) : sdl;
  const names = linkedNames(document);
  const types = new Map<string, TypeCost>();
  for (const scalar of BUILT_IN_SCALARS) types.set(scalar, { kind: 'scalar', fields: new Map() });
  addIntrospectionTypes(types);
  const roots = { query: 'Query', mutation: 'Mutation', subscription: 'Subscription' };

  const typeOf = (name: string, kind: TypeKind): TypeCost => {
    let type = types.get(name);
    if (!type) {
      type = { kind, fields: new Map() };
      types.set(name, type);
    }
    return type;
  };

  for (const def of document.definitions) {
    switch (def.kind) {
      case Kind.SCHEMA_DEFINITION:
      case Kind.SCHEMA_EXTENSION:
        for (const op of def.operationTypes ?? []) roots[op.operation] = op.type.name.value;
        break;
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.OBJECT_TYPE_EXTENSION:
      case Kind.INTERFACE_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_EXTENSION: {
        const kind =
          def.kind === Kind.OBJECT_TYPE_DEFINITION || def.kind === Kind.OBJECT_TYPE_EXTENSION ? 'object' : 'interface';
        const type = typeOf(def.name.value, kind);
        type.weight = costOf(def.directives, names.cost) ?? type.weight;
        for (const field of def.fields ?? []) {
          const args = new Map<string, number | undefined>();
          for (const arg of field.arguments ?? []) args.set(arg.name.value, intValue(arg.defaultValue));
          type.fields.set(field.name.value, {
            ...unwrap(field.type),
            weight: costOf(field.directives, names.cost),
            listSize: listSizeOf(field.directives, names.listSize),
            args,
          });
        }
        break;
      }
      case Kind.UNION_TYPE_DEFINITION:
      case Kind.UNION_TYPE_EXTENSION:
        typeOf(def.name.value, 'union').weight ??= costOf(def.directives, names.cost);
        break;
      case Kind.SCALAR_TYPE_DEFINITION:
      case Kind.SCALAR_TYPE_EXTENSION:
        typeOf(def.name.value, 'scalar').weight ??= costOf(def.directives, names.cost);
        break;
      case Kind.ENUM_TYPE_DEFINITION:
      case Kind.ENUM_TYPE_EXTENSION:
        typeOf(def.name.value, 'enum').weight ??= costOf(def.directives, names.cost);
        break;
      case Kind.INPUT_OBJECT_TYPE_DEFINITION:
      case Kind.INPUT_OBJECT_TYPE_EXTENSION:
        typeOf(def.name.value, 'input');
        break;
      default:
        break;
    }
  }
  // A subgraph's SDL file leaves out what @apollo/subgraph adds: `_service` and `_entities`
  // (the latter is costed by its number of representations, see analysis.ts).
  const query = typeOf(roots.query, 'object');
  if (!query.fields.has('_service')) {
    typeOf('_Service', 'object').fields.set('sdl', { type: 'String', list: false, args: new Map() });
    query.fields.set('_service', { type: '_Service', list: false, args: new Map() });
  }
  if (!query.fields.has('_entities')) {
    typeOf('_Entity', 'union');
    query.fields.set('_entities', { type: '_Entity', list: true, args: new Map([['representations', undefined]]) });
  }
  return { types, ...roots };
}

/** True for object, interface and union types: fields returning them have a selection set. */
export function isComposite(table: CostTable, typeName: string): boolean {
  const kind = table.types.get(typeName)?.kind;
  return kind === 'object' || kind === 'interface' || kind === 'union';
}
