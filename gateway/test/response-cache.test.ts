/**
 * The gateway's response cache: the store (time to live, eviction, tags, executions racing an
 * invalidation), what an answer is tagged with, which requests the plugin serves from it, and
 * invalidation by events read from a NATS server of the test's own. The plugin runs in a yoga
 * server over a small schema whose resolvers count their calls; the whole platform with the cache
 * on is in test/e2e/response-cache.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, getOperationAST } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { create, toBinary } from '@bufbuild/protobuf';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  createLogger,
  envelopeHeaders,
  natsConnectOptions,
  newId,
  newTraceparent,
  type EventType,
} from '@coursegraph/service-kit';
import { CourseEvents, EnrollmentEvents, enrollment } from '@coursegraph/contracts';
import { ResponseCache } from '../src/response-cache/cache.js';
import { startCacheInvalidation, type CacheInvalidation } from '../src/response-cache/invalidation.js';
import { useResponseCache, CACHE_HEADER } from '../src/response-cache/plugin.js';
import { entityTags, typeTags } from '../src/response-cache/tags.js';
import { useShareInFlightQueries } from '../src/share-in-flight-queries.js';
import { eventually, privateNats, type PrivateNats } from '@coursegraph/test-support';

const typeDefs = /* GraphQL */ `
  type Query {
    catalog: [Course!]!
    course(id: ID!): Course
    categories: [Category!]!
    node(id: ID!): Node
    flaky: Course
  }
  type Mutation {
    rename(id: ID!, title: String!): Course!
  }
  interface Node {
    id: ID!
  }
  type Course implements Node {
    id: ID!
    title: String!
    enrollmentCount: Int!
    instructor: User!
  }
  type User implements Node {
    id: ID!
    name: String!
  }
  type Category {
    name: String!
    courseCount: Int!
  }
`;

const users = { u1: { id: 'u1', name: 'Ada' } };
const courses = [
  { id: 'c1', title: 'Rust', enrollmentCount: 3, instructorId: 'u1' },
  { id: 'c2', title: 'Go', enrollmentCount: 5, instructorId: 'u1' },
];
let calls = 0;

const schema = createSchema({
  typeDefs,
  resolvers: {
    Query: {
      catalog: () => (calls++, courses),
      course: (_: unknown, { id }: { id: string }) => (calls++, courses.find((c) => c.id === id) ?? null),
      categories: () => (calls++, [{ name: 'programming', courseCount: courses.length }]),
      node: (_: unknown, { id }: { id: string }) => (calls++, courses.find((c) => c.id === id) ?? null),
      flaky: () => {
        calls++;
        throw new Error('the course subgraph is down');
      },
    },
    Mutation: {
      rename: (_: unknown, { id, title }: { id: string; title: string }) =>
        Object.assign(
          courses.find((c) => c.id === id)!,
          { title },
        ),
    },
    Course: { instructor: (c: { instructorId: keyof typeof users }) => users[c.instructorId] },
    Node: { __resolveType: (n: { title?: string }) => (n.title ? 'Course' : 'User') },
  },
});

const newCache = (options: Partial<ConstructorParameters<typeof ResponseCache>[0]> = {}) =>
  new ResponseCache({ ttlMs: 60_000, maxEntries: 100, maxTotalChars: 1_000_000, ...options });
const result = (title: string) => ({ data: { course: { title } } });

describe('the store', () => {
  it('serves an entry until its time to live ends', () => {
    const cache = newCache({ ttlMs: 1_000 });
    cache.set('k', result('a'), new Set(['Course:c1']), cache.generation, 10_000);
    expect(cache.get('k', 10_999)).toEqual(result('a'));
    expect(cache.get('k', 11_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('evicts the least recently used entry when full', () => {
    const cache = newCache({ maxEntries: 2 });
    cache.set('a', result('a'), new Set(), 0);
    cache.set('b', result('b'), new Set(), 0);
    cache.get('a');
    cache.set('c', result('c'), new Set(), 0);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toEqual(result('a'));
    expect(cache.get('c')).toEqual(result('c'));
  });

  it('keeps all entries together under the size limit, dropping the least recently used', () => {
    // Each result below is 42 characters of JSON.
    const cache = newCache({ maxTotalChars: 100 });
    cache.set('a', result('aaaaaaaaaa'), new Set(), 0);
    cache.set('b', result('bbbbbbbbbb'), new Set(), 0);
    expect(cache.chars).toBe(84);
    cache.get('a');
    cache.set('c', result('cccccccccc'), new Set(), 0);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toEqual(result('aaaaaaaaaa'));
    expect(cache.get('c')).toEqual(result('cccccccccc'));
    expect(cache.chars).toBe(84);
    cache.clear();
    expect(cache.chars).toBe(0);
  });

  it('does not keep an entry larger than the limit', () => {
    const cache = newCache({ maxEntryChars: 50 });
    expect(cache.set('big', result('x'.repeat(100)), new Set(), 0)).toBe(false);
    expect(cache.set('small', result('x'), new Set(), 0)).toBe(true);
  });

  it('drops what an entity change touches, and only that', () => {
    const cache = newCache();
    cache.set('c1', result('c1'), new Set(['Course', 'Course:c1']), 0);
    cache.set('c2', result('c2'), new Set(['Course', 'Course:c2']), 0);
    cache.set('no-ids', result('?'), new Set(['Course', 'Course:*']), 0);
    cache.set('users', result('u'), new Set(['User', 'User:u1']), 0);
    expect(cache.invalidate({ entities: [['Course', 'c1']] })).toBe(2);
    expect(cache.get('c1')).toBeUndefined();
    expect(cache.get('no-ids')).toBeUndefined();
    expect(cache.get('c2')).toEqual(result('c2'));
    expect(cache.get('users')).toEqual(result('u'));
    expect(cache.invalidate({ types: ['Course'] })).toBe(1);
    expect(cache.get('c2')).toBeUndefined();
    expect(cache.get('users')).toEqual(result('u'));
  });

  it('does not keep a result whose execution began before a change it holds', () => {
    const cache = newCache();
    const startedAt = cache.generation;
    cache.invalidate({ entities: [['Course', 'c2']] });
    // Unrelated to c1: kept.
    expect(cache.set('c1', result('c1'), new Set(['Course:c1']), startedAt)).toBe(true);
    // Read c2 before it changed: not kept.
    expect(cache.set('c2', result('old'), new Set(['Course:c2']), startedAt)).toBe(false);
    expect(cache.get('c2')).toBeUndefined();
    // An execution that began after the change may keep its result.
    expect(cache.set('c2', result('new'), new Set(['Course:c2']), cache.generation)).toBe(true);
  });

  it('keeps nothing begun before a clear, or before more changes than it remembers', () => {
    const cache = newCache();
    let startedAt = cache.generation;
    cache.clear();
    expect(cache.set('a', result('a'), new Set(['Course:c1']), startedAt)).toBe(false);
    startedAt = cache.generation;
    for (let i = 0; i < 1100; i++) cache.invalidate({ entities: [['User', `u${i}`]] });
    expect(cache.set('a', result('a'), new Set(['Course:c1']), startedAt)).toBe(false);
  });

  it('serves and keeps nothing while disabled', () => {
    const cache = newCache();
    cache.set('a', result('a'), new Set(), 0);
    cache.setEnabled(false);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.set('a', result('a'), new Set(), cache.generation)).toBe(false);
    cache.setEnabled(true);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.set('a', result('a'), new Set(), cache.generation)).toBe(true);
  });
});

describe('tags', () => {
  const built = createYoga({ schema }).getEnveloped().schema;
  const tagsOf = (query: string, data: unknown) => {
    const document = parse(query);
    return {
      types: [...typeTags(built, document)].sort(),
      entities: [...entityTags(built, document, getOperationAST(document)!, data)].sort(),
    };
  };

  it('names the types an operation selects, even when the answer is empty', () => {
    expect(tagsOf('{ catalog { id title } }', { catalog: [] })).toEqual({ types: ['Course'], entities: [] });
  });

  it('names each entity by id, through aliases and fragments, and marks an entity without its id', () => {
    const query = `{ all: catalog { key: id ...C } one: course(id: "c1") { title } }
      fragment C on Course { instructor { id name } }`;
    const data = {
      all: [
        { key: 'c1', instructor: { id: 'u1', name: 'Ada' } },
        { key: 'c2', instructor: { id: 'u1', name: 'Ada' } },
      ],
      one: { title: 'Rust' },
    };
    expect(tagsOf(query, data)).toEqual({
      types: ['Course', 'User'],
      entities: ['Course:*', 'Course:c1', 'Course:c2', 'User:u1'],
    });
  });

  it('resolves an interface by __typename, or counts every possible type without it', () => {
    expect(tagsOf('{ node(id: "c1") { __typename id } }', { node: { __typename: 'Course', id: 'c1' } })).toEqual({
      types: ['Course', 'User'],
      entities: ['Course:c1'],
    });
    expect(tagsOf('{ node(id: "c1") { id } }', { node: { id: 'c1' } })).toEqual({
      types: ['Course', 'User'],
      entities: ['Course:c1', 'User:c1'],
    });
  });
});

describe('the plugin', () => {
  const cache = newCache();
  const yoga = createYoga({
    schema,
    logging: false,
    context: ({ request }) => ({ accessToken: request.headers.get('authorization')?.replace(/^Bearer /, '') ?? null }),
    plugins: [useResponseCache(cache)],
  });
  const ask = async (query: string, variables: Record<string, unknown> = {}, token?: string) => {
    const res = await yoga.fetch('http://gateway/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return { cache: res.headers.get(CACHE_HEADER), body: await res.json() };
  };
  const CATALOG = '{ catalog { id title enrollmentCount instructor { id name } } }';

  it('executes an anonymous query once, then answers it from the cache', async () => {
    const before = calls;
    const first = await ask(CATALOG);
    const second = await ask(CATALOG);
    expect(first.cache).toBe('MISS');
    expect(second.cache).toBe('HIT');
    expect(second.body).toEqual(first.body);
    expect(first.body.data.catalog).toHaveLength(2);
    expect(calls - before).toBe(1);
  });

  it('keys by variables', async () => {
    const query = 'query($id: ID!) { course(id: $id) { id title } }';
    expect((await ask(query, { id: 'c1' })).cache).toBe('MISS');
    expect((await ask(query, { id: 'c2' })).cache).toBe('MISS');
    const again = await ask(query, { id: 'c2' });
    expect(again).toEqual({ cache: 'HIT', body: { data: { course: { id: 'c2', title: 'Go' } } } });
  });

  it('always executes for a signed-in caller', async () => {
    await ask(CATALOG);
    const before = calls;
    const signedIn = await ask(CATALOG, {}, 'some-token');
    expect(signedIn.cache).toBe('BYPASS');
    expect(calls - before).toBe(1);
  });

  it('does not keep an answer with errors', async () => {
    expect((await ask('{ flaky { id } }')).body.errors).toHaveLength(1);
    const before = calls;
    const again = await ask('{ flaky { id } }');
    expect(again.cache).toBe('MISS');
    expect(calls - before).toBe(1);
  });

  it('leaves mutations alone, and an invalidation makes the next query execute again', async () => {
    await ask(CATALOG);
    const rename = await ask('mutation { rename(id: "c1", title: "Rust 2") { id title } }');
    expect(rename.cache).toBeNull();
    // Still the old answer until a change is announced (events do that; see below).
    expect((await ask(CATALOG)).body.data.catalog[0].title).toBe('Rust');
    cache.invalidate({ entities: [['Course', 'c1']] });
    const fresh = await ask(CATALOG);
    expect(fresh.cache).toBe('MISS');
    expect(fresh.body.data.catalog[0].title).toBe('Rust 2');
  });
});

describe('the plugin with in-flight sharing', () => {
  it('a request that joins an execution begun before an invalidation keeps nothing', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let title = 'old';
    let runs = 0;
    const gated = createSchema({
      typeDefs: 'type Query { course: Course } type Course { id: ID! title: String! }',
      resolvers: {
        Query: {
          course: async () => {
            runs++;
            const seen = title;
            await gate;
            return { id: 'c1', title: seen };
          },
        },
      },
    });
    const cache = newCache();
    const yoga = createYoga({
      schema: gated,
      logging: false,
      context: () => ({ accessToken: null }),
      plugins: [useResponseCache(cache), useShareInFlightQueries()],
    });
    const ask = async () => {
      const res = await yoga.fetch('http://gateway/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ course { id title } }' }),
      });
      return { cache: res.headers.get(CACHE_HEADER), body: await res.json() };
    };
    const first = ask();
    while (runs === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // The course changes while the first execution is reading it; then a second visitor asks.
    title = 'new';
    cache.invalidate({ entities: [['Course', 'c1']] });
    const second = ask();
    await new Promise((resolve) => setTimeout(resolve, 30));
    release();
    expect((await first).body.data.course.title).toBe('old');
    expect((await second).body.data.course.title).toBe('old');
    expect(runs).toBe(1); // the second joined the first's execution
    const third = await ask();
    expect(third.cache).toBe('MISS');
    expect(third.body.data.course.title).toBe('new');
  });
});

describe('invalidation by events', () => {
  let nats: PrivateNats;
  let nc: NatsConnection;
  let publisher: NatsConnection;
  let invalidation: CacheInvalidation;
  const cache = newCache();
  const logger = createLogger('response-cache-test', 'silent');

  beforeAll(async () => {
    nats = await privateNats();
    await nats.start();
    // The invalidation feed as the gateway's own NATS user; events published as the operator.
    nc = await connect({
      ...natsConnectOptions(nats.urlAs('gateway')),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    publisher = await connect({ ...natsConnectOptions(nats.url), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    invalidation = await startCacheInvalidation(nc, cache, logger);
  });

  afterAll(async () => {
    await invalidation?.close();
    await nc?.close();
    await publisher?.close();
    await nats?.dispose();
  });

  async function publish<E extends EventType>(event: E, init: Record<string, unknown>): Promise<void> {
    const [source] = event.subject.split('.');
    publisher.publish(event.subject, toBinary(event.schema, create(event.schema, init as never)), {
      headers: envelopeHeaders({
        id: newId(),
        subject: event.subject,
        source: source!,
        time: new Date(),
        traceparent: newTraceparent(),
      }),
    });
    await publisher.flush();
  }

  const fill = () => {
    cache.set('course-1', result('one'), new Set(['Course', 'Course:c1']), cache.generation);
    cache.set('course-2', result('two'), new Set(['Course', 'Course:c2']), cache.generation);
    cache.set('user', result('u'), new Set(['User', 'User:u1']), cache.generation);
  };

  it('an enrolment drops the answers holding its course, and only those', async () => {
    fill();
    await publish(EnrollmentEvents.created, {
      enrollmentId: newId(),
      userId: newId(),
      courseId: 'c1',
      mode: enrollment.EnrollmentMode.FREE,
      enrolledAt: new Date().toISOString(),
    });
    await eventually('course-1 dropped', () => cache.get('course-1') === undefined);
    expect(cache.get('course-2')).toEqual(result('two'));
    expect(cache.get('user')).toEqual(result('u'));
  });

  it('a course change drops every catalogue answer', async () => {
    fill();
    await publish(CourseEvents.archived, { courseId: newId(), archivedAt: new Date().toISOString() });
    await eventually(
      'course answers dropped',
      () => cache.get('course-1') === undefined && cache.get('course-2') === undefined,
    );
    expect(cache.get('user')).toEqual(result('u'));
  });

  it('an unreadable event clears everything', async () => {
    fill();
    publisher.publish(EnrollmentEvents.created.subject, new Uint8Array([1, 2, 3]));
    await publisher.flush();
    await eventually('everything dropped', () => cache.size === 0);
  });

  it('while NATS is down it serves nothing, and starts afresh once it is back', async () => {
    fill();
    await nats.stop();
    await eventually('cache off', () => cache.get('user') === undefined);
    expect(cache.set('user', result('u'), new Set(['User:u1']), cache.generation)).toBe(false);
    await nats.start();
    await eventually('cache back on', () => cache.set('user', result('u'), new Set(['User:u1']), cache.generation));
    expect(cache.get('user')).toEqual(result('u'));
    // And events reach it again (once the publisher, too, is back).
    for (let attempt = 0; ; attempt++) {
      const flushed = await publisher.flush().then(
        () => true,
        () => false,
      );
      if (flushed) break;
      if (attempt > 100) throw new Error('the publisher did not reconnect');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await publish(EnrollmentEvents.created, {
      enrollmentId: newId(),
      userId: 'u1',
      courseId: newId(),
      mode: enrollment.EnrollmentMode.FREE,
      enrolledAt: new Date().toISOString(),
    });
    await eventually('user dropped', () => cache.get('user') === undefined);
  });
});
