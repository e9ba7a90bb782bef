/**
 * useOperationLimits: holds every operation to the configured limits before anything runs.
 *   parse     the token limit (inside the parse function, so yoga's parser cache skips documents
 *             it has already parsed);
 *   validate  depth, recursion, aliases and root fields, before graphql-js validation (whose
 *             overlapping-fields rule is quadratic in the number of fields), once per document;
 *   execute   the cost against the caller's limit (the viewer is known by then), before the
 *             executor: at the gateway, before any subgraph is called.
 */
import { GraphQLError, getOperationAST, parse, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Viewer } from '../auth.js';
import { analyseShape, operationCost, type Shape } from './analysis.js';
import { costTableFromSdl, type CostTable } from './cost-table.js';
import { ErrorCode } from '../errors.js';
import { LIMIT_REASONS, tooCostly, tooDeep, tooManyAliases, tooManyRootFields, tooRecursive } from './refusals.js';
import { callerClass, costLimitFor, type OperationLimitsConfig } from './settings.js';
import { withTokenLimit, type ParseFn } from './token-limit.js';

export interface OperationLimitsOptions {
  /** The limits; every service's config has them (commonSettings includes operationLimitSettings). */
  config: OperationLimitsConfig;
  /**
   * The schema's SDL (a subgraph's SDL file, the gateway's supergraph), or a cost table built from
   * it; or a function returning the table of the moment (the gateway's follows supergraph reloads).
   */
  sdl: string | DocumentNode | CostTable | (() => CostTable);
}

/** The first limit `shape` breaks, in the order aliases → root fields → recursion → depth (tokens are checked while parsing). */
export function shapeRefusal(shape: Shape, config: OperationLimitsConfig): GraphQLError | null {
  if (shape.aliases > config.limitMaxAliases) return tooManyAliases(shape.aliases, config.limitMaxAliases);
  if (shape.rootFields > config.limitMaxRootFields)
    return tooManyRootFields(shape.rootFields, config.limitMaxRootFields);
  // A cycle is the more telling reason for a deep document, so recursion is judged first.
  if (shape.recursion.count > config.limitMaxRecursion)
    return tooRecursive(shape.recursion.coordinate, shape.recursion.count, config.limitMaxRecursion);
  if (shape.depth > config.limitMaxDepth) return tooDeep(shape.depth, config.limitMaxDepth);
  return null;
}

/**
 * Marks an in-process request (`yoga.fetch(url, init, { [OPERATION_BATCH]: true })`) whose root
 * fields are a batch of independent reads the service built itself, such as the gateway's entity
 * reads for subscription events: aliases and root fields are not counted (they are the batch's
 * size), and its cost is that of its costliest root field. A client cannot set it: it lives in
 * the server context, not in the request.
 */
export const OPERATION_BATCH = Symbol.for('coursegraph.operation-limits.batch');

const isBatch = (context: unknown) => Boolean(context && (context as Record<symbol, unknown>)[OPERATION_BATCH]);

const isRefusal = (error: unknown): error is GraphQLError =>
  error instanceof GraphQLError &&
  LIMIT_REASONS.has(String(error.extensions?.reason)) &&
  error.extensions?.code === ErrorCode.BAD_USER_INPUT;

const withStatus400 = (error: GraphQLError) =>
  new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, http: { status: 400 } },
  });

const isTable = (sdl: string | DocumentNode | CostTable): sdl is CostTable => typeof sdl === 'object' && 'types' in sdl;

export interface CostArgs {
  document: DocumentNode;
  operationName?: string | null;
  variableValues?: Record<string, unknown> | null;
  contextValue?: { viewer?: Viewer | null } | null;
}

/** The limits as plain checks, for a path that does not run through yoga (the gateway's subscriptions). */
export interface OperationLimiter {
  /** `parse` with the token limit: throws a MAX_TOKENS refusal (or graphql-js's syntax error). */
  parse: ParseFn;
  /** The first shape limit the document breaks, or null; judged once per document. */
  shapeRefusal(document: DocumentNode, options?: { batch?: boolean }): GraphQLError | null;
  /** The operation's cost against its caller's limit: a COST_LIMIT refusal, or null. */
  costRefusal(args: CostArgs): GraphQLError | null;
}

/** The checks behind useOperationLimits; null when the limits are turned off. */
export function createOperationLimiter(options: OperationLimitsOptions): OperationLimiter | null {
  const { config } = options;
  if (!config.operationLimits) return null;
  const { sdl } = options;
  const fixed = typeof sdl === 'function' ? null : isTable(sdl) ? sdl : costTableFromSdl(sdl);
  const tableNow = fixed ? () => fixed : (sdl as () => CostTable);
  // Parsed documents are shared by yoga's cache, so each distinct document is judged once per table.
  type Verdicts = WeakMap<DocumentNode, GraphQLError | null>;
  const judged = new WeakMap<CostTable, { single: Verdicts; batch: Verdicts }>();
  const judgedWith = (table: CostTable) => {
    let verdicts = judged.get(table);
    if (!verdicts) judged.set(table, (verdicts = { single: new WeakMap(), batch: new WeakMap() }));
    return verdicts;
  };
  const costOptions = { defaultListSize: config.limitDefaultListSize };

  return {
    parse: withTokenLimit(parse, config.limitMaxTokens),
    shapeRefusal(document, { batch = false } = {}) {
      const table = tableNow();
      const cache = batch ? judgedWith(table).batch : judgedWith(table).single;
      let refusal = cache.get(document);
      if (refusal === undefined) {
        const shape = analyseShape(document, table);
        refusal = shapeRefusal(batch ? { ...shape, aliases: 0, rootFields: 0 } : shape, config);
        cache.set(document, refusal);
      }
      return refusal;
    },
    costRefusal(args) {
      const operation = getOperationAST(args.document, args.operationName ?? undefined);
      if (!operation) return null;
      const table = tableNow();
      const costOf = (op: OperationDefinitionNode) =>
        operationCost(args.document, op, table, args.variableValues, costOptions);
      const cost = isBatch(args.contextValue)
        ? Math.max(
            0,
            ...operation.selectionSet.selections.map((s) =>
              costOf({ ...operation, selectionSet: { ...operation.selectionSet, selections: [s] } }),
            ),
          )
        : costOf(operation);
      const caller = callerClass(args.contextValue?.viewer);
      const limit = costLimitFor(config, caller);
      return cost > limit ? tooCostly(cost, limit, caller) : null;
    },
  };
}

export function useOperationLimits<TContext extends Record<string, unknown>>(
  options: OperationLimitsOptions,
): Plugin<TContext> {
  const limiter = createOperationLimiter(options);
  if (!limiter) return {};
  const { config } = options;

  return {
    onParse({ parseFn, setParseFn }) {
      setParseFn(withTokenLimit(parseFn, config.limitMaxTokens));
    },
    onValidate({ params, context }) {
      // Thrown rather than set as the validation result: validation is skipped, and yoga's
      // validation cache (keyed by document) neither keeps nor overrides a verdict that depends on
      // more than the document (a batch, or a change of limits).
      const refusal = limiter.shapeRefusal(params.documentAST, { batch: isBatch(context) });
      if (refusal) throw refusal;
    },
    onExecute({ args, setResultAndStopExecution }) {
      const refusal = limiter.costRefusal(args as CostArgs);
      if (refusal) setResultAndStopExecution({ errors: [refusal] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const refusal = limiter.costRefusal(args as CostArgs);
      if (refusal) setResultAndStopExecution({ errors: [refusal] });
    },
    // Yoga marks every parse error as a spec error (`http.spec`), answered 200 to application/json
    // clients; a refusal keeps its 400. (Only a request-level answer: one with data stays as it is.)
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result) || !result || typeof result !== 'object' || ('data' in result && result.data != null))
        return;
      if (!('errors' in result) || !result.errors?.some(isRefusal)) return;
      setResult({ ...result, errors: result.errors.map((e) => (isRefusal(e) ? withStatus400(e) : e)) });
    },
  };
}
