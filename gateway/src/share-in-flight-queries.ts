/**
 * Identical query operations in flight at the same time are executed once and the one result is
 * given to each of them: fifty people opening the catalog page together cost one query plan run,
 * one set of subgraph calls and one result shaping. Each request is still parsed, validated and
 * authenticated on its own; "identical" means the same document, operation, variables and the
 * same access token (the only caller-dependent input execution reads), so nobody gets an answer
 * computed for someone else. Nothing is kept once the execution finishes: this is not a cache, a
 * request arriving after it gets a fresh execution. Mutations, subscriptions and incremental
 * delivery (@defer/@stream) are never shared.
 */
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GatewayContext } from './context.js';
import { documentText, isIncremental, serializeOnce } from './document-text.js';

/** Must come after the plugin that sets the federation executor, so it wraps that executor. */
export function useShareInFlightQueries(): Plugin<GatewayContext> {
  const inFlight = new Map<string, Promise<unknown>>();
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      if (getOperationAST(args.document, args.operationName)?.operation !== 'query') return;
      const text = documentText(args.document);
      if (isIncremental(text)) return;
      const context = args.contextValue as GatewayContext;
      const key = `${context.accessToken ?? ''}\n${args.operationName ?? ''}\n${JSON.stringify(args.variableValues ?? {})}\n${text}`;
      setExecuteFn((executeArgs) => {
        const running = inFlight.get(key);
        if (running) return running as ReturnType<typeof executeFn>;
        // Every request that joins gets this very result object: serialised once for all of them.
        const execution = Promise.resolve(executeFn(executeArgs))
          .then((result) =>
            result && typeof result === 'object' && !(Symbol.asyncIterator in result) ? serializeOnce(result) : result,
          )
          .finally(() => inFlight.delete(key));
        inFlight.set(key, execution);
        return execution as ReturnType<typeof executeFn>;
      });
    },
  };
}
