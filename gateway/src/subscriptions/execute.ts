/**
 * Executes a subscription's selection set for one event. The event type's own fields come from the
 * event; its entity fields (`order`, `user`, `course`, …) are loaded through the supergraph: all
 * entity fields of one event become one query (`e0: order(id: …) { <the client's selection> } …`)
 * run by the gateway's own query planner with the subscriber's token, so they see exactly what the
 * subscriber may see and may reach fields of any subgraph.
 */
import {
  GraphQLError,
  Kind,
  execute,
  extendSchema,
  getNamedType,
  isObjectType,
  parse,
  print,
  visit,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLFieldResolver,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
  type VariableDefinitionNode,
} from 'graphql';
import { readFileSync } from 'node:fs';
import { ErrorCode, appError } from '@coursegraph/service-kit';
import { STREAMS, type EventValue } from './streams.js';

/** Runs a query through the gateway as the subscriber (their access token, or none). */
export type RunQuery = (
  query: string,
  variables: Record<string, unknown>,
  token: string | null,
) => Promise<ExecutionResult>;

/** The Subscription type and its event types (SDL), extending the gateway's API schema. */
export const SUBSCRIPTIONS_SDL = readFileSync(
  new URL('../../src/subscriptions/subscriptions.graphql', import.meta.url),
  'utf8',
);

/** The gateway's API schema plus the Subscription type and its event types, with their resolvers. */
export function subscriptionSchema(apiSchema: GraphQLSchema): GraphQLSchema {
  const schema = extendSchema(apiSchema, parse(SUBSCRIPTIONS_SDL));
  const subscription = schema.getSubscriptionType();
  if (!subscription) throw new Error('subscriptions.graphql defines no Subscription type');
  for (const [name, field] of Object.entries(subscription.getFields())) {
    const definition = STREAMS[name];
    if (!definition) throw new Error(`Subscription.${name} has no stream definition`);
    field.resolve = (root: Record<string, EventValue>) => root[name];
    const eventType = getNamedType(field.type);
    if (!isObjectType(eventType)) throw new Error(`Subscription.${name} must return an object type`);
    for (const [fieldName, eventField] of Object.entries(eventType.getFields())) {
      const entity = definition.entities[fieldName];
      eventField.resolve = entity
        ? (source: EventValue, _args, context: EventContext, info) => {
            const id = source.entityIds[fieldName];
            return id ? context.entities.load(entity.queryField, id, info.fieldNodes) : null;
          }
        : (source: EventValue) => source[fieldName];
    }
  }
  return schema;
}

/** Inside entities the data is already shaped by the supergraph query: read it by response key. */
const byResponseKey: GraphQLFieldResolver<Record<string, unknown> | null, unknown> = (source, _args, _context, info) =>
  source?.[info.path.key as string];

export interface EventContext {
  entities: EntityBatch;
}

export interface PreparedOperation {
  schema: GraphQLSchema;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  /** The subscription field, e.g. `orderPaid`. */
  field: string;
  variables: Record<string, unknown>;
  token: string | null;
}

export function executeForEvent(
  prepared: PreparedOperation,
  value: EventValue,
  runQuery: RunQuery,
): Promise<ExecutionResult> {
  const fragments = prepared.document.definitions.filter(
    (d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION,
  );
  const entities = new EntityBatch(runQuery, prepared, fragments);
  return Promise.resolve(
    execute({
      schema: prepared.schema,
      document: { kind: Kind.DOCUMENT, definitions: [prepared.operation, ...fragments] },
      rootValue: { [prepared.field]: value },
      contextValue: { entities } satisfies EventContext,
      variableValues: prepared.variables,
      fieldResolver: byResponseKey,
    }),
  );
}

interface Pending {
  queryField: string;
  id: string;
  fieldNodes: readonly FieldNode[];
  resolve: (value: unknown) => void;
  reject: (error: GraphQLError) => void;
}

/** Collects the entity fields of one event's execution and loads them in one supergraph query. */
class EntityBatch {
  private pending: Pending[] = [];

  constructor(
    private readonly runQuery: RunQuery,
    private readonly prepared: PreparedOperation,
    private readonly fragments: FragmentDefinitionNode[],
  ) {}

  load(queryField: string, id: string, fieldNodes: readonly FieldNode[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending.push({ queryField, id, fieldNodes, resolve, reject });
      // graphql-js resolves sibling fields in the same tick: flush once they have all asked.
      if (this.pending.length === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const { query, variables } = this.buildQuery(batch);
    let result: ExecutionResult;
    try {
      result = await this.runQuery(query, variables, this.prepared.token);
    } catch {
      for (const p of batch)
        p.reject(
          appError(ErrorCode.INTERNAL, "The event's entities could not be loaded; the supergraph did not answer."),
        );
      return;
    }
    batch.forEach((p, i) => {
      const alias = `e${i}`;
      const error = result.errors?.find((e) => e.path?.[0] === alias);
      if (error) p.reject(new GraphQLError(error.message, { extensions: error.extensions }));
      else p.resolve((result.data as Record<string, unknown> | null | undefined)?.[alias] ?? null);
    });
  }

  /** `query($used: …) { e0: course(id: "…") { …client selection, __typename } … }` plus the fragments it uses. */
  private buildQuery(batch: Pending[]): { query: string; variables: Record<string, unknown> } {
    const fields: FieldNode[] = batch.map((p, i) => ({
      kind: Kind.FIELD,
      alias: { kind: Kind.NAME, value: `e${i}` },
      name: { kind: Kind.NAME, value: p.queryField },
      arguments: [
        { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'id' }, value: { kind: Kind.STRING, value: p.id } },
      ],
      selectionSet: {
        kind: Kind.SELECTION_SET,
        selections: p.fieldNodes.flatMap((n) => n.selectionSet?.selections ?? []),
      },
    }));
    // Fragments and variables the selections use, transitively: a query may carry no unused ones.
    const usedFragments = new Map<string, FragmentDefinitionNode>();
    const usedVariables = new Set<string>();
    const collect = (node: unknown) =>
      visit(node as FieldNode, {
        FragmentSpread: (spread) => {
          const name = spread.name.value;
          const fragment = this.fragments.find((f) => f.name.value === name);
          if (fragment && !usedFragments.has(name)) {
            usedFragments.set(name, fragment);
            collect(fragment);
          }
        },
        Variable: (variable) => void usedVariables.add(variable.name.value),
      });
    fields.forEach(collect);
    const variableDefinitions: VariableDefinitionNode[] = (this.prepared.operation.variableDefinitions ?? []).filter(
      (d) => usedVariables.has(d.variable.name.value),
    );
    const operation: OperationDefinitionNode = {
      kind: Kind.OPERATION_DEFINITION,
      operation: 'query' as OperationDefinitionNode['operation'],
      name: { kind: Kind.NAME, value: 'SubscriptionEventEntities' },
      variableDefinitions,
      selectionSet: { kind: Kind.SELECTION_SET, selections: fields },
    };
    const document = withTypenames({ kind: Kind.DOCUMENT, definitions: [operation, ...usedFragments.values()] });
    const variables = Object.fromEntries(
      [...usedVariables].filter((v) => v in this.prepared.variables).map((v) => [v, this.prepared.variables[v]]),
    );
    return { query: print(document), variables };
  }
}

/** Adds `__typename` to every selection set, so abstract types resolve when the result is re-executed. */
function withTypenames(document: DocumentNode): DocumentNode {
  const typename: SelectionNode = { kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } };
  return visit(document, {
    SelectionSet: {
      leave: (node, _key, parent) =>
        (parent as { kind?: string } | undefined)?.kind === Kind.OPERATION_DEFINITION ||
        node.selections.some((s) => s.kind === Kind.FIELD && s.name.value === '__typename' && !s.alias)
          ? node
          : { ...node, selections: [...node.selections, typename] },
    },
  });
}
