/**
 * What a result holds, as cache tags (see cache.ts): the object types its operation can return,
 * read once per document from the selections, and the entities found in the result's values.
 */
import {
  Kind,
  TypeInfo,
  getNamedType,
  isAbstractType,
  isCompositeType,
  isObjectType,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

const ROOT_TYPES = new Set(['Query', 'Mutation', 'Subscription']);

function objectTypesOf(schema: GraphQLSchema, type: GraphQLCompositeType): readonly GraphQLObjectType[] {
  return isAbstractType(type) ? schema.getPossibleTypes(type) : [type];
}

const typeTagsByDocument = new WeakMap<DocumentNode, ReadonlySet<string>>();

/** Every object type the document selects (a list that comes back empty still names its type). */
export function typeTags(schema: GraphQLSchema, document: DocumentNode): ReadonlySet<string> {
  let tags = typeTagsByDocument.get(document);
  if (tags) return tags;
  const found = new Set<string>();
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        const type = typeInfo.getType();
        const named = type && getNamedType(type);
        if (!named || !isCompositeType(named)) return;
        for (const object of objectTypesOf(schema, named)) if (!ROOT_TYPES.has(object.name)) found.add(object.name);
      },
    }),
  );
  tags = found;
  typeTagsByDocument.set(document, tags);
  return tags;
}

interface Walk {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  tags: Set<string>;
}

/** Fields of a selection set with fragments spread in (type conditions are checked by the values present). */
function fieldsOf(
  walk: Walk,
  selectionSet: SelectionSetNode,
  out: Array<{ name: string; key: string; selectionSet?: SelectionSetNode }> = [],
) {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      out.push({
        name: selection.name.value,
        key: selection.alias?.value ?? selection.name.value,
        selectionSet: selection.selectionSet,
      });
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      fieldsOf(walk, selection.selectionSet, out);
    } else {
      const fragment = walk.fragments[selection.name.value];
      if (fragment) fieldsOf(walk, fragment.selectionSet, out);
    }
  }
  return out;
}

function collect(walk: Walk, type: GraphQLCompositeType, selectionSet: SelectionSetNode, value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) collect(walk, type, selectionSet, item);
    return;
  }
  const object = value as Record<string, unknown>;
  const fields = fieldsOf(walk, selectionSet);
  const typename = fields.find((f) => f.name === '__typename');
  const named = typename && walk.schema.getType(String(object[typename.key]));
  const candidates = named && isObjectType(named) ? [named] : objectTypesOf(walk.schema, type);
  const idField = fields.find((f) => f.name === 'id');
  const id = idField ? object[idField.key] : undefined;
  for (const candidate of candidates) {
    if (ROOT_TYPES.has(candidate.name) || !candidate.getFields().id) continue;
    walk.tags.add(typeof id === 'string' || typeof id === 'number' ? `${candidate.name}:${id}` : `${candidate.name}:*`);
  }
  for (const field of fields) {
    if (!field.selectionSet) continue;
    const definition = candidates.map((c) => c.getFields()[field.name]).find((d) => d !== undefined);
    const child = definition && getNamedType(definition.type);
    if (child && isCompositeType(child)) collect(walk, child, field.selectionSet, object[field.key]);
  }
}

/** `Type:<id>` (or `Type:*`) for every object with an `id` field found in `data`. */
export function entityTags(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  data: unknown,
): Set<string> {
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  const walk: Walk = { schema, fragments, tags: new Set() };
  const root = schema.getRootType(operation.operation);
  if (root) collect(walk, root, operation.selectionSet, data);
  return walk.tags;
}
