/**
 * The gateway's entity cache (off unless GATEWAY_ENTITY_CACHE=on): answers of subgraphs'
 * `_entities` calls for fields the subgraphs declare public (`@publicCache`, policy.ts), kept per
 * entity in Redis (cache.ts), so every gateway process and every caller, signed in or not, shares
 * them. Viewer-dependent fields (everything not declared) always go to the subgraph: a call that
 * selects one anywhere is not cached at all (decision.ts).
 *
 * One call, one Redis round trip: every entity found is served from it; the subgraph is asked only
 * for the missing representations (same query, fewer representations), and the answers are merged in
 * the original order. What it fetched is kept when the answer has no errors, and never a null
 * entity (a null can mean "not visible to this caller"). Only answers fetched for the least
 * privileged callers (anonymous, learners) are kept: a public field is the same for everyone who may
 * see the entity, but instructors and admins may see entities others cannot (a never-published
 * course, with its draft), and those must not reach the cache. Everyone reads it.
 *
 * Invalidation follows the response cache's table (response-cache/invalidation.ts), through the same
 * subscriber; while NATS is down, or Redis has missed an invalidation, nothing is read or kept.
 * Redis down or slow: the call goes to the subgraph (commands fail after REDIS_COMMAND_TIMEOUT_MS).
 */
import { createHash } from 'node:crypto';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse as GraphQLResponse } from '@apollo/server-gateway-interface';
import { connectNats, type Logger, type Redis } from '@coursegraph/service-kit';
import type { GatewayContext } from '../context.js';
import { recordEntityCache } from '../metrics.js';
import { startCacheInvalidation } from '../response-cache/invalidation.js';
import { EntityStore, type EntityWrite } from './cache.js';
import { CallDecisions, type CacheableCall } from './decision.js';
import { entityCachePolicy, type EntityCachePolicy } from './policy.js';
import { entityTags } from './tags.js';

export { EntityStore } from './cache.js';
export { CallDecisions, decideCall } from './decision.js';
export { entityCachePolicy } from './policy.js';

/** More representations than this in one call (a hostile or odd plan) go to the subgraph uncached. */
export const MAX_REPRESENTATIONS = 1_000;

type ProcessOptions = GraphQLDataSourceProcessOptions<GatewayContext>;
type Send = (options: ProcessOptions) => Promise<GraphQLResponse>;

/** What one supergraph version's data sources call: the cache under that version's policy. */
export interface VersionEntityCache {
  process(subgraph: string, options: ProcessOptions, send: Send): Promise<GraphQLResponse>;
}

export interface EntityCache {
  /** The cache under the policy of one supergraph (the policy belongs to the version). */
  forSupergraph(sdl: string): VersionEntityCache;
  store: EntityStore;
  close(): Promise<void>;
}

/** JSON with object keys sorted: the same representation gives the same key whatever its key order. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const object = value as Record<string, unknown>;
  return `{${Object.keys(object)
    .sort()
    .filter((k) => object[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${stableJson(object[k])}`)
    .join(',')}}`;
}

const isRepresentation = (value: unknown): value is { __typename: string; id?: unknown } =>
  value !== null &&
  typeof value === 'object' &&
  !Array.isArray(value) &&
  typeof (value as { __typename?: unknown }).__typename === 'string';

/** Only answers fetched for callers who see no more than anyone: see the header. */
const mayKeep = (context: GatewayContext | undefined) => !context?.viewer || context.viewer.role === 'LEARNER';

/** Error paths of the reduced call point at its own list: put them back at the entities' places. */
function remapErrors(errors: GraphQLResponse['errors'], missing: readonly number[]): GraphQLResponse['errors'] {
  return errors?.map((error) => {
    const path = error.path;
    if (path?.[0] !== '_entities' || typeof path[1] !== 'number') return error;
    return { ...error, path: ['_entities', missing[path[1]] ?? path[1], ...path.slice(2)] };
  });
}

export function createVersionEntityCache(store: EntityStore, policy: EntityCachePolicy): VersionEntityCache {
  const decisions = new CallDecisions(policy);

  async function cached(
    subgraph: string,
    decision: CacheableCall,
    representations: ReadonlyArray<{ __typename: string; id?: unknown }>,
    options: ProcessOptions,
    send: Send,
  ): Promise<GraphQLResponse> {
    const request = options.request;
    const variables = request.variables ?? {};
    const startedAt = store.generation;
    const others = { ...variables };
    delete others[decision.representationsVariable];
    const queryHash = createHash('sha1').update(request.query!).update(stableJson(others)).digest('base64url');
    const keys = representations.map((r) => store.key(subgraph, queryHash, stableJson(r)));
    let read;
    try {
      read = await store.read(keys);
    } catch {
      // Redis down or slow: the subgraph answers, uncounted as hits or misses.
      recordEntityCache(subgraph, 'bypass', representations.length);
      return send(options);
    }
    const generations: Record<string, string> = {};
    for (const type of [...decision.types, '*']) generations[type] = read.generations[type] ?? '';
    const values: unknown[] = new Array(representations.length);
    const missing: number[] = [];
    read.entries.forEach((entry, i) => {
      const current = entry && Object.keys(generations).every((t) => entry.g[t] === generations[t]);
      if (current) values[i] = entry.v;
      else missing.push(i);
    });
    recordEntityCache(subgraph, 'hit', representations.length - missing.length);
    recordEntityCache(subgraph, 'miss', missing.length);
    if (missing.length === 0) return { data: { _entities: values } };

    const all = missing.length === representations.length;
    const response = await send(
      all
        ? options
        : {
            ...options,
            request: {
              ...request,
              variables: { ...variables, [decision.representationsVariable]: missing.map((i) => representations[i]) },
            },
          },
    );
    const fetched = (response.data as { _entities?: unknown } | null | undefined)?._entities;
    if (!Array.isArray(fetched) || fetched.length !== missing.length) {
      // Not an answer to merge: the gateway reports it as the subgraph's failure.
      return all ? response : { ...response, errors: remapErrors(response.errors, missing) };
    }
    if (!response.errors?.length && mayKeep(options.context as GatewayContext)) {
      const writes: EntityWrite[] = [];
      fetched.forEach((value, j) => {
        if (value === null || typeof value !== 'object') return;
        const i = missing[j]!;
        const tags = entityTags(policy, subgraph, decision, representations[i]!, value);
        for (const type of decision.types) tags.add(type);
        writes.push({ key: keys[i]!, value, tags, ttlS: decision.maxAge });
      });
      store.write(writes, generations, startedAt);
    }
    if (all) return response;
    missing.forEach((i, j) => (values[i] = fetched[j]));
    return {
      ...response,
      data: { ...response.data, _entities: values },
      errors: remapErrors(response.errors, missing),
    };
  }

  return {
    process(subgraph, options, send) {
      const request = options.request;
      // Only a client's operation (not a health check or schema load: those carry no incoming request).
      if (!('incomingRequestContext' in options) || !request.query) return send(options);
      const decision = decisions.get(subgraph, request.query);
      if (!decision.cacheable) {
        // Counted per entity when it is an entity call, else as one call.
        const representations = request.variables?.representations;
        recordEntityCache(subgraph, 'bypass', Array.isArray(representations) ? representations.length : 1);
        return send(options);
      }
      const representations = request.variables?.[decision.representationsVariable];
      if (
        !store.usable ||
        !Array.isArray(representations) ||
        representations.length === 0 ||
        representations.length > MAX_REPRESENTATIONS ||
        !representations.every(isRepresentation)
      ) {
        recordEntityCache(subgraph, 'bypass', Array.isArray(representations) ? representations.length : 1);
        return send(options);
      }
      return cached(subgraph, decision, representations, options, send);
    },
  };
}

export interface EntityCacheSettings {
  natsUrl: string;
  redis: Redis;
  maxAgeS: number;
  logger: Logger;
}

export async function createEntityCache(settings: EntityCacheSettings): Promise<EntityCache> {
  const logger = settings.logger.child({ component: 'entity-cache' });
  const store = new EntityStore(settings.redis, settings.maxAgeS, (what, err) =>
    logger.warn({ what, err: (err as Error).message }, 'entity cache: Redis failed; the subgraphs answer'),
  );
  const nc = await connectNats(settings.natsUrl, { name: 'gateway-entity-cache', logger });
  const invalidation = await startCacheInvalidation(nc, store, logger);
  await store.setEnabled(true);
  store.start();
  logger.info({ maxAgeS: settings.maxAgeS }, 'entity cache on');
  return {
    store,
    forSupergraph(sdl) {
      const policy = entityCachePolicy(sdl);
      for (const problem of policy.problems) logger.warn({ problem }, 'entity cache: declaration ignored');
      return createVersionEntityCache(store, policy);
    },
    async close() {
      store.stop();
      await invalidation.close();
      await nc.drain().catch(() => undefined);
    },
  };
}
