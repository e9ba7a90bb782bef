/**
 * Serves anonymous query operations from the response cache. Only requests without an access
 * token are cached: their answer depends on nothing but the operation and its variables, so one
 * visitor's answer is every visitor's. Signed-in requests always execute (what they see depends on
 * who they are, and they expect their own writes at once). Each answer says what happened in the
 * `x-cache` header: HIT, MISS, or BYPASS (not cacheable).
 */
import { getOperationAST, type ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { GatewayContext } from '../context.js';
import { documentText, isIncremental, serializeOnce } from '../document-text.js';
import { recordResponseCache } from '../metrics.js';
import type { ResponseCache } from './cache.js';
import { entityTags, typeTags } from './tags.js';

export const CACHE_HEADER = 'x-cache';

export function useResponseCache(cache: ResponseCache): Plugin<GatewayContext> {
  const outcome = new WeakMap<Request, 'HIT' | 'MISS' | 'BYPASS'>();
  /**
   * The cache generation at which the execution that produced a result began. A request may be
   * handed the result of an execution that began before it (in-flight sharing, the next plugin):
   * that earlier start is what decides whether the result may be kept.
   */
  const began = new WeakMap<object, number>();
  return {
    onExecute({ args, executeFn, setExecuteFn, setResultAndStopExecution }) {
      const context = args.contextValue as GatewayContext & { request?: Request };
      const request = context.request;
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'query') return;
      const text = documentText(args.document);
      if (context.accessToken || isIncremental(text)) {
        if (request) outcome.set(request, 'BYPASS');
        return;
      }
      const key = `${args.operationName ?? ''}\n${JSON.stringify(args.variableValues ?? {})}\n${text}`;
      const cached = cache.get(key);
      if (cached) {
        if (request) outcome.set(request, 'HIT');
        setResultAndStopExecution(cached);
        return;
      }
      if (request) outcome.set(request, 'MISS');
      setExecuteFn((executeArgs) => {
        const generation = cache.generation;
        return Promise.resolve(executeFn(executeArgs)).then((result) => {
          if (result && typeof result === 'object') began.set(result, generation);
          return result;
        }) as ReturnType<typeof executeFn>;
      });
      const requestedAt = cache.generation;
      return {
        onExecuteDone({ result }) {
          if (isAsyncIterable(result)) return;
          const { data, errors } = result as ExecutionResult;
          if (errors?.length || !data) return;
          const tags = entityTags(args.schema, args.document, operation, data);
          for (const tag of typeTags(args.schema, args.document)) tags.add(tag);
          cache.set(key, serializeOnce({ data }), tags, Math.min(began.get(result) ?? requestedAt, requestedAt));
        },
      };
    },
    onResponse({ request, response }) {
      const seen = outcome.get(request);
      if (!seen) return;
      response.headers.set(CACHE_HEADER, seen);
      recordResponseCache(seen);
    },
  };
}
