/**
 * One subscription request, whatever its transport: checked (syntax, schema, single field, who may
 * subscribe, resume position), then turned into a stream of execution results, one per event.
 * Bad input never opens a stream: it gets errors with the fixed codes, and nothing changes.
 */
import {
  GraphQLError,
  Kind,
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  parse,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import {
  ErrorCode,
  badInput,
  forbidden,
  unauthenticated,
  type OperationLimiter,
  type Viewer,
} from '@coursegraph/service-kit';
import { trackSubscription } from '../metrics.js';
import { executeForEvent, type PreparedOperation, type RunQuery } from './execute.js';
import type { EventHub, HubSubscription } from './hub.js';
import type { StreamHolder, StreamLimits } from './limits.js';
import { formatPosition, parsePosition } from './position.js';
import { StreamEnded } from './stream-ended.js';
import { STREAMS } from './streams.js';

/** The body of a subscription request, as sent by a client (graphql-ws `subscribe` payload or the SSE POST body). */
export interface SubscriptionRequest {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

export interface Caller {
  viewer: Viewer | null;
  token: string | null;
}

export type Prepared =
  | { ok: false; errors: GraphQLError[] }
  | { ok: true; document: DocumentNode; results: AsyncGenerator<ExecutionResult> };

export interface SubscriptionEngine {
  /** The subscription schema new streams are validated against (followSchema replaces it). */
  schema: GraphQLSchema;
  /** Every open stream, so a new schema can be applied to each (followSchema). */
  open: Set<OpenStream>;
  hub: EventHub;
  runQuery: RunQuery;
  limits: StreamLimits;
  /** Owner streams (a user's own events among everyone's): a resume reads at most this many latest events. */
  ownerResumeWindow: number;
  /** The operation limits every query meets at the gateway; null when they are off. */
  operationLimits: OperationLimiter | null;
  /** The endpoint's rate limits, drawn once per subscription request: a refusal, or null. Absent: not limited. */
  admit?: (ip: string, userId: string) => Promise<GraphQLError | null>;
}

/** An open stream as followSchema sees it: its operation, and how to end it. */
export interface OpenStream {
  prepared: PreparedOperation;
  end: (reason: StreamEnded) => void;
}

/** Where a stream would be held: its connection and client address (the user comes from the caller). */
export type Connection = Omit<StreamHolder, 'userId'>;

const MAX_QUERY_LENGTH = 20_000;

/**
 * Checks a request and opens its stream. `onEnded` is told when the hub ends the stream (a slow
 * subscriber), so the transport can disconnect even while the client is not reading. A holder over
 * its stream limits (limits.ts) gets RATE_LIMITED and opens nothing; its other streams go on.
 */
export async function prepareSubscription(
  engine: SubscriptionEngine,
  request: SubscriptionRequest,
  caller: Caller,
  connection: Connection,
  onEnded: (reason: StreamEnded) => void,
): Promise<Prepared> {
  try {
    return await prepare(engine, request, caller, connection, onEnded);
  } catch (err) {
    if (err instanceof GraphQLError) return { ok: false, errors: [forClient(err)] };
    throw err;
  }
}

/** The error as a client sees it: `extensions.http` is yoga's instruction for its own responses (status, headers), not part of the answer. */
function forClient(error: GraphQLError): GraphQLError {
  if (!error.extensions?.http) return error;
  const { http: _http, ...extensions } = error.extensions;
  return new GraphQLError(error.message, { nodes: error.nodes, extensions });
}

async function prepare(
  engine: SubscriptionEngine,
  request: SubscriptionRequest,
  caller: Caller,
  connection: Connection,
  onEnded: (reason: StreamEnded) => void,
): Promise<Prepared> {
  const { query, variables = {}, operationName } = request;
  if (typeof query !== 'string' || query.trim() === '')
    throw badInput('Send the subscription operation as a non-empty `query` string.', 'query');
  if (query.length > MAX_QUERY_LENGTH)
    throw badInput(`The query is longer than ${MAX_QUERY_LENGTH} characters.`, 'query');
  if (variables !== null && (typeof variables !== 'object' || Array.isArray(variables)))
    throw badInput('`variables` must be an object.', 'variables');
  if (operationName != null && typeof operationName !== 'string')
    throw badInput('`operationName` must be a string.', 'operationName');

  let document: DocumentNode;
  try {
    document = (engine.operationLimits?.parse ?? parse)(query);
  } catch (err) {
    // A refusal by the token limit keeps its reason and figures.
    if (err instanceof GraphQLError && err.extensions?.code === ErrorCode.BAD_USER_INPUT && err.extensions.reason)
      throw err;
    throw badInput(`The query does not parse: ${(err as GraphQLError).message}`, 'query');
  }
  // The same limits as queries, before validation and before any stream opens.
  const shapeRefusal = engine.operationLimits?.shapeRefusal(document);
  if (shapeRefusal) throw shapeRefusal;
  const operation = getOperationAST(document, operationName ?? undefined);
  if (!operation)
    throw badInput(
      operationName
        ? `The document has no operation named ${operationName}.`
        : 'The document must hold exactly one operation, or name one with `operationName`.',
    );
  if (operation.operation !== 'subscription') {
    throw badInput(
      `This endpoint serves subscriptions; send ${operation.operation === 'query' ? 'queries' : 'mutations'} to POST /graphql.`,
    );
  }
  // One schema for the whole request, even if a reload swaps the engine's meanwhile.
  const schema = engine.schema;
  const validationErrors = validate(schema, document);
  if (validationErrors.length > 0) {
    // Built here rather than with badInput: each keeps its nodes, so the client sees their locations.
    return {
      ok: false,
      errors: validationErrors.map(
        (e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: ErrorCode.BAD_USER_INPUT } }),
      ),
    };
  }

  const fieldNode = rootField(operation.selectionSet, document);
  const field = fieldNode.name.value;
  const definition = STREAMS[field]!;
  const rawVariables = (variables ?? {}) as Record<string, unknown>;
  const fieldDef = schema.getSubscriptionType()!.getFields()[field]!;
  let args: Record<string, unknown>;
  try {
    args = getArgumentValues(fieldDef, fieldNode, coerceVariables(schema, operation, rawVariables));
  } catch (err) {
    throw badInput((err as Error).message);
  }

  const viewer = caller.viewer;
  if (!viewer)
    throw unauthenticated(
      definition.access === 'owner'
        ? 'Sign in to receive your notifications.'
        : `Sign in as staff (ADMIN) to subscribe to ${field}.`,
    );
  if (definition.access === 'staff' && viewer.role !== 'ADMIN')
    throw forbidden(`${field} is an internal stream: it needs the ADMIN role.`);
  // Each subscription request draws from the same per-IP and per-user budgets as any other request.
  const refusedByRate = await engine.admit?.(connection.ip, viewer.userId);
  if (refusedByRate) throw refusedByRate;
  // What one event costs to resolve, against the subscriber's budget.
  const costRefusal = engine.operationLimits?.costRefusal({
    document,
    operationName: operationName ?? null,
    variableValues: rawVariables,
    contextValue: { viewer },
  });
  if (costRefusal) throw costRefusal;

  const stream = definition.event.subject.split('.')[0]!.toUpperCase();
  const after = args.after == null ? undefined : parsePosition(args.after, stream);
  const release = engine.limits.acquire({ ...connection, userId: viewer.userId });
  let subscription: HubSubscription;
  try {
    subscription = await engine.hub.open({
      event: definition.event,
      after,
      accept: definition.access === 'owner' ? (event) => definition.ownerOf(event) === viewer.userId : () => true,
      // A learner's events are a few among everyone's: a resume may not make the gateway read the
      // whole stream for them (staff streams are every event, all of them wanted).
      maxBacklog:
        definition.access === 'owner' && Number.isFinite(engine.ownerResumeWindow)
          ? engine.ownerResumeWindow
          : undefined,
      onEnded,
    });
  } catch (err) {
    release();
    throw err;
  }
  const prepared: PreparedOperation = {
    schema,
    document,
    operation,
    field,
    variables: rawVariables,
    token: caller.token,
  };
  const open: OpenStream = { prepared, end: (reason) => subscription.end(reason) };
  engine.open.add(open);
  const tracked = trackSubscription(field);
  const closeSubscription = () => {
    tracked.closed();
    engine.open.delete(open);
    subscription.close();
    release();
  };
  // Identical subscriptions (operation, variables, viewer) share one execution per event.
  const sharingKey = JSON.stringify([query, operationName ?? null, rawVariables, viewer.userId, viewer.role]);
  async function* results(): AsyncGenerator<ExecutionResult> {
    let first = true;
    try {
      for (;;) {
        const next = await subscription.next();
        if (!next) return;
        let result = next.results.get(sharingKey);
        if (!result) {
          result = executeForEvent(
            prepared,
            definition.value(formatPosition(next.stream, next.sequence), next.event),
            engine.runQuery,
          );
          next.results.set(sharingKey, result);
        }
        const value = await result;
        tracked.delivered();
        if (first && subscription.missedBefore) {
          // The resume position is older than the stream keeps: say so once, with where it starts.
          yield { ...value, extensions: { ...value.extensions, missedBefore: subscription.missedBefore } };
        } else {
          yield value;
        }
        first = false;
      }
    } catch (err) {
      // The stream's last word as a result, so the client gets its code and reason, then `complete`
      // (graphql-ws would turn a thrown error into a bare message).
      if (err instanceof StreamEnded && err.reason === 'SCHEMA_CHANGED') yield { errors: [err.toGraphQLError()] };
      else throw err;
    } finally {
      closeSubscription();
    }
  }
  // A transport ends a stream with `return()`, often while the generator waits for an event that may
  // never come (a quiet stream): close the hub subscription at once, which ends that wait, so the
  // subscriber leaves the feed now rather than at the next event.
  const generator = results();
  const returnAfterWait = generator.return.bind(generator);
  generator.return = (value) => {
    closeSubscription();
    return returnAfterWait(value);
  };
  return { ok: true, document, results: generator };
}

/** The operation's one root field (validation has ensured there is exactly one). */
function rootField(selectionSet: SelectionSetNode, document: DocumentNode): FieldNode {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) return selection;
    const inner =
      selection.kind === Kind.INLINE_FRAGMENT
        ? selection.selectionSet
        : document.definitions.find(
            (d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value,
          );
    if (inner && 'selectionSet' in inner && inner.selectionSet) return rootField(inner.selectionSet, document);
    if (inner && inner.kind === Kind.SELECTION_SET) return rootField(inner, document);
  }
  throw badInput('The subscription selects no field.');
}

/** Coerced variable values (for argument values); bad variables are the client's mistake. */
function coerceVariables(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  raw: Record<string, unknown>,
): Record<string, unknown> {
  const { errors, coerced } = getVariableValues(schema, operation.variableDefinitions ?? [], raw, { maxErrors: 10 });
  if (errors) throw badInput(errors.map((e) => e.message).join(' '), 'variables');
  return coerced!;
}

/**
 * A reloaded supergraph: new streams are validated against `schema`; each open stream whose
 * operation is still valid in it runs on with it, and the others end with SCHEMA_CHANGED (their
 * client hears why, then `complete`). Returns how many streams were kept and ended.
 */
export function followSchema(engine: SubscriptionEngine, schema: GraphQLSchema): { kept: number; ended: number } {
  engine.schema = schema;
  let kept = 0;
  let ended = 0;
  for (const stream of [...engine.open]) {
    const errors = validate(schema, stream.prepared.document);
    if (errors.length === 0) {
      stream.prepared.schema = schema;
      kept++;
      continue;
    }
    ended++;
    stream.end(
      new StreamEnded(
        `The API changed and no longer serves this subscription: ${errors.map((e) => e.message).join(' ')} Subscribe again with an operation the current schema serves.`,
        'SCHEMA_CHANGED',
      ),
    );
  }
  return { kept, ended };
}
