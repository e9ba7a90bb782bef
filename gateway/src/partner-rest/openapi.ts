/**
 * A partner's persisted operations as a REST API, described in OpenAPI 3.1: each query becomes
 * `GET /partners/v1/<operationName>` with its variables as typed query parameters, each mutation
 * `POST /partners/v1/<operationName>` with its variables as a JSON body, and each 200 answer's JSON
 * schema is derived from the operation's selection set against the supergraph's API schema. The
 * plugin (plugin.ts) serves this document and the routes it describes.
 */
import {
  GraphQLEnumType,
  GraphQLInputObjectType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLScalarType,
  Kind,
  getNamedType,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  parse,
  typeFromAST,
  valueFromASTUntyped,
  type FragmentDefinitionNode,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { PartnerAccess, PartnerDocument } from '../persisted-documents/partner-access.js';

export type { PartnerAccess, PartnerDocument };

export type JsonSchema = Record<string, unknown>;

/** A variable of a REST operation: how a parameter is read and typed. */
export interface RestVariable {
  name: string;
  type: GraphQLInputType;
  /** Non-null without a default: the call is refused without it. */
  required: boolean;
  /** Lists and input objects travel as one JSON-encoded parameter. */
  json: boolean;
}

/** A partner's operation as a REST route. */
export interface RestOperation {
  documentId: string;
  operationName: string;
  method: 'GET' | 'POST';
  variables: RestVariable[];
  operation: OperationDefinitionNode;
  fragments: Map<string, FragmentDefinitionNode>;
}

export const REST_PREFIX = '/partners/v1/';
const SKIPPING = new Set(['skip', 'include']);
/** 32-bit signed, as GraphQL's Int. */
const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

/**
 * The partner's documents by operation name. When a name was registered more than once, the
 * document listed last wins (identity lists them oldest first); the earlier ones stay runnable by
 * id through /graphql. Subscriptions and documents that no longer parse are left out.
 */
export function restOperations(documents: Record<string, PartnerDocument>, apiSchema: GraphQLSchema) {
  const byName = new Map<string, RestOperation>();
  for (const [documentId, entry] of Object.entries(documents)) {
    let ast;
    try {
      ast = parse(entry.document);
    } catch {
      continue;
    }
    const operation = ast.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    if (!operation?.name || operation.operation === 'subscription') continue;
    const fragments = new Map(
      ast.definitions
        .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
        .map((d) => [d.name.value, d]),
    );
    const variables: RestVariable[] = [];
    for (const definition of operation.variableDefinitions ?? []) {
      const type = typeFromAST(apiSchema, definition.type) as GraphQLInputType | undefined;
      if (!type) continue;
      const named = getNamedType(type);
      variables.push({
        name: definition.variable.name.value,
        type,
        required: isNonNullType(type) && !definition.defaultValue,
        json: isListType(isNonNullType(type) ? type.ofType : type) || isInputObjectType(named),
      });
    }
    byName.set(operation.name.value, {
      documentId,
      operationName: operation.name.value,
      method: operation.operation === 'mutation' ? 'POST' : 'GET',
      variables,
      operation,
      fragments,
    });
  }
  return byName;
}

/** Adds null to what a schema allows. */
function orNull(schema: JsonSchema): JsonSchema {
  if (typeof schema.type === 'string') {
    const widened: JsonSchema = { ...schema, type: [schema.type, 'null'] };
    if (Array.isArray(schema.enum)) widened.enum = [...schema.enum, null];
    return widened;
  }
  if (schema.$ref) return { anyOf: [schema, { type: 'null' }] };
  return schema;
}

/** JSON schema of a scalar's value as it travels in JSON. */
function scalarSchema(type: GraphQLScalarType): JsonSchema {
  switch (type.name) {
    case 'Int':
      return { type: 'integer', minimum: INT_MIN, maximum: INT_MAX };
    case 'Float':
      return { type: 'number' };
    case 'Boolean':
      return { type: 'boolean' };
    case 'String':
    case 'ID':
      return { type: 'string' };
    case 'DateTime':
      return { type: 'string', format: 'date-time' };
    default:
      // A custom scalar (JSON): any JSON value, described by the schema's own words.
      return type.description ? { description: type.description } : {};
  }
}

/** Builds the document's named schemas (enums, input objects) as it goes, so recursive inputs stay finite. */
class SchemaBuilder {
  readonly components: Record<string, JsonSchema> = {};

  constructor(private readonly apiSchema: GraphQLSchema) {}

  private named(type: GraphQLEnumType | GraphQLInputObjectType): JsonSchema {
    const ref = { $ref: `#/components/schemas/${type.name}` };
    if (this.components[type.name]) return ref;
    if (isEnumType(type)) {
      this.components[type.name] = {
        type: 'string',
        enum: type.getValues().map((v) => v.name),
        ...(type.description ? { description: type.description } : {}),
      };
      return ref;
    }
    this.components[type.name] = {}; // reserved: a field of the same type refers back here
    const fields = Object.values(type.getFields());
    this.components[type.name] = {
      type: 'object',
      ...(type.description ? { description: type.description } : {}),
      properties: Object.fromEntries(fields.map((f) => [f.name, this.input(f.type)])),
      required: fields.filter((f) => isNonNullType(f.type) && f.defaultValue === undefined).map((f) => f.name),
      additionalProperties: false,
    };
    return ref;
  }

  /** An input value's schema: non-null strips the null. */
  input(type: GraphQLInputType): JsonSchema {
    if (isNonNullType(type)) return this.nonNullInput(type.ofType);
    return orNull(this.nonNullInput(type));
  }

  private nonNullInput(type: GraphQLInputType): JsonSchema {
    if (type instanceof GraphQLList) return { type: 'array', items: this.input(type.ofType as GraphQLInputType) };
    if (isScalarType(type)) return scalarSchema(type);
    if (isEnumType(type) || isInputObjectType(type)) return this.named(type);
    return {};
  }

  /** The JSON schema of the value a selection set produces on `parent`. */
  selection(
    parent: GraphQLNamedType,
    selectionSet: SelectionSetNode,
    fragments: Map<string, FragmentDefinitionNode>,
  ): JsonSchema {
    // Response key → its field's type (none for __typename), the selections under it (merged from
    // every place that selects the key), and whether every value has it.
    const fields = new Map<string, { type?: GraphQLOutputType; selections: SelectionSetNode[]; always: boolean }>();
    const collect = (on: GraphQLNamedType, set: SelectionSetNode, always: boolean, spread: Set<string>) => {
      for (const selection of set.selections) {
        // Under @skip or @include the key may be absent.
        const present = always && !(selection.directives ?? []).some((d) => SKIPPING.has(d.name.value));
        if (selection.kind === Kind.FIELD) {
          const key = selection.alias?.value ?? selection.name.value;
          const entry = fields.get(key) ?? { type: fieldType(on, selection.name.value), selections: [], always: false };
          entry.always ||= present;
          if (selection.selectionSet) entry.selections.push(selection.selectionSet);
          fields.set(key, entry);
          continue;
        }
        const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? fragments.get(selection.name.value) : selection;
        if (!fragment) continue;
        if (selection.kind === Kind.FRAGMENT_SPREAD) {
          if (spread.has(selection.name.value)) continue;
          spread = new Set([...spread, selection.name.value]);
        }
        const condition = fragment.typeCondition ? this.apiSchema.getType(fragment.typeCondition.name.value) : on;
        if (!condition) continue;
        // A fragment on one member of a union or interface applies to some values only.
        const applies =
          condition === parent ||
          (isAbstractType(condition) && isObjectType(parent) && this.apiSchema.isSubType(condition, parent));
        collect(condition, fragment.selectionSet, present && applies, spread);
      }
    };
    collect(parent, selectionSet, true, new Set());

    const properties: Record<string, JsonSchema> = {};
    for (const [key, { type, selections }] of fields)
      properties[key] = type ? this.output(type, selections, fragments) : this.typename(parent);
    return {
      type: 'object',
      properties,
      required: [...fields].filter(([, f]) => f.always).map(([key]) => key),
      additionalProperties: false,
    };
  }

  private typename(parent: GraphQLNamedType): JsonSchema {
    if (isAbstractType(parent))
      return { type: 'string', enum: this.apiSchema.getPossibleTypes(parent).map((t) => t.name) };
    return { type: 'string', const: parent.name };
  }

  private output(
    type: GraphQLOutputType,
    selections: SelectionSetNode[],
    fragments: Map<string, FragmentDefinitionNode>,
  ): JsonSchema {
    if (isNonNullType(type)) return this.nonNullOutput(type.ofType, selections, fragments);
    return orNull(this.nonNullOutput(type, selections, fragments));
  }

  private nonNullOutput(
    type: GraphQLOutputType,
    selections: SelectionSetNode[],
    fragments: Map<string, FragmentDefinitionNode>,
  ): JsonSchema {
    if (isListType(type)) return { type: 'array', items: this.output(type.ofType, selections, fragments) };
    if (isScalarType(type)) return scalarSchema(type);
    if (isEnumType(type)) return this.named(type);
    const merged: SelectionSetNode = { kind: Kind.SELECTION_SET, selections: selections.flatMap((s) => s.selections) };
    return this.selection(type as GraphQLNamedType, merged, fragments);
  }
}

/** The 200 body: the GraphQL response, `data` shaped by the selection set. */
export function responseSchema(
  operation: RestOperation,
  apiSchema: GraphQLSchema,
  builder = new SchemaBuilder(apiSchema),
) {
  const root = operation.method === 'POST' ? apiSchema.getMutationType() : apiSchema.getQueryType();
  const data = root ? builder.selection(root, operation.operation.selectionSet, operation.fragments) : {};
  return {
    type: 'object',
    properties: {
      data: orNull(data),
      errors: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            message: { type: 'string' },
            path: { type: 'array', items: { type: ['string', 'integer'] } },
            extensions: { type: 'object', properties: { code: { type: 'string' } } },
          },
          required: ['message'],
        },
      },
    },
  };
}

const errorBody = {
  description: 'The request was refused before it ran.',
  content: {
    'application/json': {
      schema: { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] },
    },
  },
};

/** The OpenAPI 3.1 document of a partner's operations. */
export function openApiFor(
  partner: { id: string; name: string },
  documents: Record<string, PartnerDocument>,
  apiSchema: GraphQLSchema,
  { serverUrl }: { serverUrl: string },
): JsonSchema {
  const builder = new SchemaBuilder(apiSchema);
  const paths: Record<string, JsonSchema> = {};
  for (const operation of restOperations(documents, apiSchema).values()) {
    const schemaOf = new Map(operation.variables.map((v) => [v.name, builder.input(v.type)]));
    const defaults = new Map(
      (operation.operation.variableDefinitions ?? [])
        .filter((d) => d.defaultValue)
        .map((d) => [d.variable.name.value, valueFromASTUntyped(d.defaultValue!)]),
    );
    const withDefault = (name: string, schema: JsonSchema) =>
      defaults.has(name) ? { ...schema, default: defaults.get(name) } : schema;
    const responses = {
      '200': {
        description: `The GraphQL response of ${operation.operationName}: \`data\`, and \`errors\` when a part failed.`,
        content: { 'application/json': { schema: responseSchema(operation, apiSchema, builder) } },
      },
      '400': errorBody,
      '401': errorBody,
    };
    const common = {
      operationId: operation.operationName,
      summary: `${operation.operationName} (persisted document ${operation.documentId})`,
    };
    if (operation.method === 'GET') {
      paths[`${REST_PREFIX}${operation.operationName}`] = {
        get: {
          ...common,
          parameters: operation.variables.map((v) => {
            // A parameter is absent rather than null: its schema is the value's, without null.
            const schema = withDefault(v.name, builder.input(new GraphQLNonNull(getNullable(v.type))));
            return v.json
              ? { name: v.name, in: 'query', required: v.required, content: { 'application/json': { schema } } }
              : { name: v.name, in: 'query', required: v.required, schema };
          }),
          responses,
        },
      };
    } else {
      paths[`${REST_PREFIX}${operation.operationName}`] = {
        post: {
          ...common,
          requestBody: {
            required: operation.variables.some((v) => v.required),
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: Object.fromEntries(
                    operation.variables.map((v) => [v.name, withDefault(v.name, schemaOf.get(v.name)!)]),
                  ),
                  required: operation.variables.filter((v) => v.required).map((v) => v.name),
                  additionalProperties: false,
                },
              },
            },
          },
          responses,
        },
      };
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: `Coursegraph for ${partner.name}`,
      version: '1',
      description:
        `The persisted operations registered for partner ${partner.name} (${partner.id}), one endpoint each. ` +
        'Every answer is the GraphQL response of the operation.',
    },
    servers: [{ url: serverUrl }],
    security: [{ apiKey: [] }],
    paths,
    components: {
      schemas: builder.components,
      securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } },
    },
  };
}

/** A field's type on an object or interface; undefined for __typename (and meta fields). */
const fieldType = (on: GraphQLNamedType, name: string): GraphQLOutputType | undefined =>
  isObjectType(on) || isInterfaceType(on) ? on.getFields()[name]?.type : undefined;

const getNullable = (type: GraphQLInputType): GraphQLInputType => (isNonNullType(type) ? type.ofType : type);

/** A parameter that cannot become its variable: the caller is told which and why. */
export class ParameterError extends Error {}

/** The variables of a GET call from its query parameters, converted by their declared types. */
export function variablesFromQuery(operation: RestOperation, params: URLSearchParams): Record<string, unknown> {
  const declared = new Map(operation.variables.map((v) => [v.name, v]));
  for (const name of new Set(params.keys())) {
    const shown = JSON.stringify(name.slice(0, 64));
    if (!declared.has(name)) throw new ParameterError(`unknown parameter ${shown}`);
    if (params.getAll(name).length > 1) throw new ParameterError(`parameter ${shown} is given more than once`);
  }
  const variables: Record<string, unknown> = {};
  for (const variable of operation.variables) {
    const raw = params.get(variable.name);
    if (raw === null) {
      if (variable.required) throw new ParameterError(`parameter "${variable.name}" is required`);
      continue;
    }
    variables[variable.name] = convert(variable, raw);
  }
  return variables;
}

function convert(variable: RestVariable, raw: string): unknown {
  const fail = (what: string) => new ParameterError(`parameter "${variable.name}": ${what}`);
  if (variable.json) {
    try {
      // Its shape is checked by GraphQL's own variable coercion, which names the field at fault.
      return JSON.parse(raw);
    } catch {
      throw fail('is not JSON');
    }
  }
  const type = getNamedType(variable.type);
  if (isEnumType(type)) {
    if (!type.getValue(raw))
      throw fail(
        `is not one of ${type
          .getValues()
          .map((v) => v.name)
          .join(', ')}`,
      );
    return raw;
  }
  switch (type.name) {
    case 'Int': {
      const value = Number(raw);
      if (!/^-?\d{1,10}$/.test(raw) || value < INT_MIN || value > INT_MAX) throw fail('is not a 32-bit integer');
      return value;
    }
    case 'Float': {
      const value = Number(raw);
      if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw) || !Number.isFinite(value)) throw fail('is not a number');
      return value;
    }
    case 'Boolean':
      if (raw !== 'true' && raw !== 'false') throw fail('is not true or false');
      return raw === 'true';
    default:
      return raw;
  }
}
