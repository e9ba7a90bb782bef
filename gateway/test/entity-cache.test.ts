/**
 * The entity cache's parts: the policy read from a supergraph (the committed one, and small ones
 * composed here), the decision per call, and the store and merging against the real test Redis
 * (keys under a prefix of this run's own). The subgraph behind a call is a function that answers
 * `_entities` and records what it was asked; test/e2e/entity-cache.test.ts runs the real platform.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'graphql';
import { composeServices } from '@apollo/composition';
import { createRedis, type Redis } from '@coursegraph/service-kit';
import { freePort } from '@coursegraph/test-support';
import {
  EntityStore,
  createVersionEntityCache,
  decideCall,
  entityCachePolicy,
  stableJson,
} from '../src/entity-cache/index.js';

const supergraph = fs.readFileSync(path.resolve(import.meta.dirname, '../../schema/supergraph.graphql'), 'utf8');
const policy = entityCachePolicy(supergraph);

const entities = (selection: string, fragments = '') =>
  `query($representations:[_Any!]!){_entities(representations:$representations){${selection}}}${fragments}`;

const HEAD = `extend schema
  @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@shareable", "@composeDirective"])
  @link(url: "https://coursegraph.dev/cache/v0.1", import: ["@publicCache"])
  @composeDirective(name: "@publicCache")
directive @publicCache(maxAge: Int! = 60) on OBJECT | FIELD_DEFINITION
`;

function composed(subgraphs: Record<string, string>): string {
  const result = composeServices(
    Object.entries(subgraphs).map(([name, sdl]) => ({ name, url: `http://${name}`, typeDefs: parse(sdl) })),
  );
  if (result.errors?.length) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.supergraphSdl!;
}

describe('policy', () => {
  it('reads the declarations of the committed supergraph per subgraph', () => {
    expect(policy.field('course', 'Course', 'title')).toEqual({ maxAge: 60, returns: 'String' });
    expect(policy.field('course', 'Course', 'price')).toMatchObject({ returns: 'Money' });
    expect(policy.field('course', 'Money', 'amountMinor')).toBeDefined();
    expect(policy.field('course', 'User', 'taughtCourses')).toMatchObject({ returns: 'CourseConnection' });
    expect(policy.field('course', 'CourseConnection', 'totalCount')).toBeDefined();
    expect(policy.field('identity', 'User', 'name')).toBeDefined();
    expect(policy.field('enrollment', 'Course', 'enrollmentCount')).toBeDefined();
    // What depends on the viewer is private.
    expect(policy.field('identity', 'User', 'email')).toBeUndefined();
    expect(policy.field('identity', 'User', 'role')).toBeUndefined();
    expect(policy.field('enrollment', 'Course', 'viewerEnrollment')).toBeUndefined();
    expect(policy.field('course', 'Course', 'draft')).toBeUndefined();
    expect(policy.field('course', 'Course', 'prerequisites')).toBeUndefined();
    expect(policy.field('course', 'Lesson', 'body')).toBeUndefined();
    // A field is public only in the subgraph that resolves it.
    expect(policy.field('enrollment', 'Course', 'title')).toBeUndefined();
    expect(policy.problems).toEqual([]);
  });

  it('a field declaration holds where the field is resolved, with its maxAge; a type declaration on an entity is refused', () => {
    const sdl = composed({
      a: `${HEAD}type Query { c: Course }
        type Course @key(fields: "id") @publicCache { id: ID! @publicCache title: String @publicCache(maxAge: 5) secret: String }
        type Tag @publicCache(maxAge: 7) { name: String }`,
      b: `extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
        type Course @key(fields: "id") { id: ID! mine: Boolean }
        type Query { b: Boolean }`,
    });
    const small = entityCachePolicy(sdl);
    expect(small.field('a', 'Course', 'title')).toEqual({ maxAge: 5, returns: 'String' });
    expect(small.field('a', 'Tag', 'name')).toEqual({ maxAge: 7, returns: 'String' });
    expect(small.field('a', 'Course', 'secret')).toBeUndefined();
    expect(small.field('b', 'Course', 'mine')).toBeUndefined();
    expect(small.field('b', 'Course', 'id')).toBeDefined();
    expect(small.problems).toEqual([expect.stringContaining('entity type Course')]);
  });
});

describe('which calls are cached', () => {
  it('an _entities call of public fields only, through nested objects and fragments', () => {
    const decision = decideCall(
      policy,
      'course',
      entities(
        '__typename ...on User{__typename id taughtCourses(first:3){totalCount edges{node{...C}}}}',
        ' fragment C on Course{id title lessonCount price{amountMinor currency} instructor{__typename id}}',
      ),
    );
    expect(decision).toMatchObject({ cacheable: true, maxAge: 60, representationsVariable: 'representations' });
    expect(decision.cacheable && decision.types).toEqual(['Course', 'CourseConnection', 'CourseEdge', 'Money', 'User']);
  });

  it('a private field anywhere, a root field or a mutation goes to the subgraph', () => {
    const bypass = (subgraph: string, query: string) =>
      expect(decideCall(policy, subgraph, query).cacheable).toBe(false);
    bypass('course', entities('...on Course{title description}'));
    bypass(
      'course',
      entities('...on User{taughtCourses{edges{node{...C}}}}', ' fragment C on Course{title draft{title}}'),
    );
    bypass('course', entities('...on Course{...on Course{hasUnpublishedChanges}}'));
    bypass('enrollment', entities('...on Course{enrollmentCount viewerEnrollment{id}}'));
    bypass('identity', entities('...on User{name email}'));
    bypass('course', '{ catalog { totalCount } }');
    bypass(
      'course',
      'mutation($representations:[_Any!]!){_entities(representations:$representations){...on Course{title}}}',
    );
    bypass('course', entities('...on Course{title @defer}'));
    bypass(
      'course',
      'query { _entities(representations: [{__typename: "Course", id: "x"}]) { ...on Course { title } } }',
    );
    bypass('course', 'not graphql');
  });
});

describe('store and merging (real Redis)', () => {
  let redis: Redis;
  let store: EntityStore;
  const prefix = `ec-test-${randomUUID()}:`;
  const query = entities('...on Course{title}');
  const titles: Record<string, string | null> = { a: 'Alpha', b: 'Beta', c: 'Gamma', d: 'Delta' };
  let asked: unknown[][] = [];
  let failNext = false;
  const send = async (options: any) => {
    const representations = options.request.variables.representations as Array<{ id: string }>;
    asked.push(representations);
    if (failNext) {
      failNext = false;
      return {
        data: { _entities: representations.map((r, i) => (i === 0 ? null : { title: titles[r.id] })) },
        errors: [{ message: 'boom', path: ['_entities', 0, 'title'] }],
      };
    }
    return {
      data: { _entities: representations.map((r) => (titles[r.id] === null ? null : { title: titles[r.id] })) },
    };
  };
  const call = (
    ids: Array<string | unknown>,
    viewer: unknown = null,
    cache = createVersionEntityCache(store, policy),
  ) =>
    cache.process(
      'course',
      {
        request: {
          query,
          variables: { representations: ids.map((id) => (typeof id === 'string' ? { __typename: 'Course', id } : id)) },
        },
        incomingRequestContext: {},
        context: { viewer },
      } as never,
      send as never,
    );
  const after = async <T>(result: Promise<T>) => {
    const value = await result;
    // Writes are not awaited by the call: let them land.
    await redis.ping();
    return value;
  };

  beforeAll(async () => {
    redis = createRedis(process.env.REDIS_URL!);
    store = new EntityStore(redis, 60, () => {}, prefix);
    await store.setEnabled(true);
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('asks the subgraph only for what it does not hold, and keeps the order', async () => {
    asked = [];
    const first = await after(call(['a', 'b', 'c']));
    expect(first).toEqual({ data: { _entities: [{ title: 'Alpha' }, { title: 'Beta' }, { title: 'Gamma' }] } });
    const second = await after(call(['c', 'd', 'a']));
    expect(second.data).toEqual({ _entities: [{ title: 'Gamma' }, { title: 'Delta' }, { title: 'Alpha' }] });
    const third = await call(['d', 'b']);
    expect(third).toEqual({ data: { _entities: [{ title: 'Delta' }, { title: 'Beta' }] } });
    expect(asked).toEqual([
      [
        { __typename: 'Course', id: 'a' },
        { __typename: 'Course', id: 'b' },
        { __typename: 'Course', id: 'c' },
      ],
      [{ __typename: 'Course', id: 'd' }],
    ]);
  });

  it('keeps neither nulls nor answers with errors, and puts error paths back at their entities', async () => {
    titles.n = null;
    asked = [];
    expect((await after(call(['n', 'a']))).data).toEqual({ _entities: [null, { title: 'Alpha' }] });
    expect(asked).toEqual([[{ __typename: 'Course', id: 'n' }]]);
    await after(call(['n']));
    expect(asked).toHaveLength(2);

    titles.e = 'Epsilon';
    titles.f = 'Phi';
    failNext = true;
    asked = [];
    const partial = await after(call(['a', 'e', 'f']));
    expect(asked).toEqual([
      [
        { __typename: 'Course', id: 'e' },
        { __typename: 'Course', id: 'f' },
      ],
    ]);
    expect(partial.data).toEqual({ _entities: [{ title: 'Alpha' }, null, { title: 'Phi' }] });
    expect(partial.errors).toEqual([{ message: 'boom', path: ['_entities', 1, 'title'] }]);
    // Nothing of that answer was kept.
    await call(['f']);
    expect(asked).toHaveLength(2);
  });

  it('an entity invalidation drops that entity, a type-wide one every entry of the type', async () => {
    await after(call(['a', 'b', 'c']));
    asked = [];
    await store.invalidate({ entities: [['Course', 'b']] }, randomUUID());
    await after(call(['a', 'b', 'c']));
    expect(asked).toEqual([[{ __typename: 'Course', id: 'b' }]]);
    await store.invalidate({ types: ['Course'] }, randomUUID());
    await after(call(['a', 'b']));
    expect(asked[1]).toHaveLength(2);
    // Another process (a second store on the same Redis) sees the same generations.
    const other = new EntityStore(redis, 60, () => {}, prefix);
    await other.setEnabled(true);
    asked = [];
    await call(['a', 'b'], null, createVersionEntityCache(other, policy));
    expect(asked).toEqual([]);
  });

  it('a call that began before an invalidation of its entity keeps nothing', async () => {
    await store.invalidate({ types: ['Course'] }, randomUUID());
    asked = [];
    const slow = createVersionEntityCache(store, policy);
    const pending = slow.process(
      'course',
      {
        request: { query, variables: { representations: [{ __typename: 'Course', id: 'a' }] } },
        incomingRequestContext: {},
        context: { viewer: null },
      } as never,
      (async (options: any) => {
        await store.invalidate({ entities: [['Course', 'a']] }, randomUUID());
        return send(options);
      }) as never,
    );
    await after(pending);
    await after(call(['a']));
    expect(asked).toHaveLength(2);
  });

  it('keeps only what the least privileged callers fetched', async () => {
    titles.g = 'Draft title';
    asked = [];
    await after(call(['g'], { userId: 'i', role: 'INSTRUCTOR' }));
    await after(call(['g'], { userId: 'l', role: 'LEARNER' }));
    await call(['g'], { userId: 'i', role: 'INSTRUCTOR' });
    expect(asked).toHaveLength(2);
  });

  it('odd input goes to the subgraph untouched: representations that are not objects, too many of them', async () => {
    asked = [];
    await call(['a', 42]);
    await call([['a']]);
    await call(Array.from({ length: 1_001 }, (_, i) => `x${i}`));
    expect(asked.map((a) => a.length)).toEqual([2, 1, 1_001]);
  });

  it('an entry that is not valid JSON is a miss, and is deleted', async () => {
    await after(call(['c']));
    const keys = await redis.keys(`${prefix}e:*`);
    for (const key of keys) await redis.set(key, '{not json', 'EX', 60);
    asked = [];
    await after(call(['c']));
    expect(asked).toHaveLength(1);
    await call(['c']);
    expect(asked).toHaveLength(1);
    expect(stableJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}',
    );
  });

  it('Redis down: every call goes to the subgraph, and none fails', async () => {
    const dead = createRedis(`redis://127.0.0.1:${await freePort()}`, {
      commandTimeoutMs: 100,
      logger: { warn: () => {} },
    });
    const deadStore = new EntityStore(dead, 60, () => {}, prefix);
    await deadStore.setEnabled(true);
    expect(deadStore.usable).toBe(false);
    asked = [];
    const answer = await call(['a', 'b'], null, createVersionEntityCache(deadStore, policy));
    expect(answer.data).toEqual({ _entities: [{ title: 'Alpha' }, { title: 'Beta' }] });
    expect(asked).toHaveLength(1);
    dead.disconnect();
  });
});
