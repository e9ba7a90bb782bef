/**
 * Operation limits through the service bootstrap (createServiceYoga) over tiny inline schemas whose
 * resolvers count their calls: each hostile shape is refused with its reason and figures, HTTP 400,
 * and nothing runs; the cost rules (weights, multipliers, declared @cost/@listSize) one by one.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { getIntrospectionQuery, getOperationAST, parse } from 'graphql';
import { createSchema } from 'graphql-yoga';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { OPERATION_BATCH, createLogger, createServiceYoga, readConfig, type Viewer } from '../src/index.js';
import { operationLimitSettings } from '../src/config.js';
import { analyseShape, costTableFromSdl, operationCost } from '../src/operation-limits/index.js';

const typeDefs = /* GraphQL */ `
  type Query {
    catalog(first: Int, after: String): CourseConnection!
    course(id: ID!): Course
    categories: [Category!]!
    hello: String!
  }
  type Mutation {
    rename(id: ID!, title: String!): Course!
  }
  type Category {
    name: String!
  }
  type Course {
    id: ID!
    title: String!
    instructor: User!
    modules: [Module!]!
  }
  type Module {
    id: ID!
    course: Course!
    lessons: [Lesson!]!
  }
  type Lesson {
    id: ID!
    module: Module!
  }
  type User {
    id: ID!
    name: String!
    taughtCourses(first: Int): CourseConnection!
  }
  type CourseConnection {
    totalCount: Int!
    edges: [CourseEdge!]!
    pageInfo: PageInfo!
  }
  type CourseEdge {
    cursor: String!
    node: Course!
  }
  type PageInfo {
    hasNextPage: Boolean!
  }
`;

let calls = 0;
const user = { id: 'u1', name: 'Ada' };
const course = { id: 'c1', title: 'Rust' };
const connection = () => ({ totalCount: 1, edges: [{ cursor: 'x', node: course }], pageInfo: { hasNextPage: false } });
const schema = createSchema({
  typeDefs,
  resolvers: {
    Query: {
      catalog: () => (calls++, connection()),
      course: () => (calls++, course),
      categories: () => (calls++, [{ name: 'programming' }]),
      hello: () => (calls++, 'hi'),
    },
    Mutation: { rename: () => (calls++, course) },
    Course: { instructor: () => (calls++, user), modules: () => (calls++, [{ id: 'm1' }]) },
    Module: { course: () => course, lessons: () => [{ id: 'l1' }] },
    Lesson: { module: () => ({ id: 'm1' }) },
    User: { taughtCourses: () => (calls++, connection()) },
  },
});

const ROLE_HEADER = 'x-test-role';
type Ctx = { viewer: Viewer | null };

function serve(env: Record<string, string> = {}, schemaToServe = schema, sdl: string = typeDefs) {
  const config = readConfig(operationLimitSettings, env);
  return createServiceYoga<Ctx>({
    schema: schemaToServe,
    logger: createLogger('operation-limits-test', 'silent'),
    operationLimits: { config, sdl },
    // The viewer a real service gets from a verified token; here from a header, to pick the caller.
    context: async (request) => {
      const role = request.headers.get(ROLE_HEADER) as Viewer['role'] | null;
      return { viewer: role ? { userId: 'u1', role, sessionId: 's1', issuedAtMs: Date.now() } : null };
    },
  });
}

const yoga = serve();

async function post(
  query: string,
  variables?: Record<string, unknown>,
  role?: Viewer['role'],
  accept = 'application/json',
  app = yoga,
  serverContext?: object,
) {
  const res = await app.fetch(
    'http://test/graphql',
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept, ...(role ? { [ROLE_HEADER]: role } : {}) },
      body: JSON.stringify({ query, variables }),
    },
    serverContext ?? {},
  );
  return {
    status: res.status,
    body: (await res.json()) as {
      data?: Record<string, unknown> | null;
      errors?: { message: string; extensions: Record<string, unknown> }[];
    },
  };
}

/** `{ catalog { edges { node { instructor { taughtCourses { edges { node { … } } } } } } } }`, `levels` deep. */
function nestedCatalog(levels: number, first = 50): string {
  let inner = 'id title';
  for (let i = 0; i < levels; i++)
    inner = `id instructor { taughtCourses(first: ${first}) { edges { node { ${inner} } } } }`;
  return `{ catalog(first: ${first}) { edges { node { ${inner} } } } }`;
}

beforeEach(() => {
  calls = 0;
});

describe('refusals', () => {
  it('refuses a document over the token limit while parsing, with its count', async () => {
    const query = `{ ${Array.from({ length: 2500 }, () => 'hello').join(' ')} }`;
    const res = await post(query);
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors![0]!.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'MAX_TOKENS',
      tokens: 2502,
      limit: 2000,
    });
    expect(res.body.errors![0]!.message).toBe('The document has 2502 tokens; the limit is 2000.');
    expect(calls).toBe(0);
  });

  it("refuses a cycle nested 40 times (the issue's 2.7 KB query) with the coordinate that repeats", async () => {
    const res = await post(nestedCatalog(40));
    expect(res.status).toBe(400);
    // catalog's own edges and node come first: CourseConnection.edges and CourseEdge.node appear 41 times.
    expect(res.body.errors![0]!.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'MAX_RECURSION',
      repeats: 41,
      limit: 2,
    });
    expect(res.body.errors![0]!.message).toMatch(
      /^The field (CourseConnection\.edges|CourseEdge\.node) appears 41 times along one path; the limit is 2\.$/,
    );
    expect(calls).toBe(0);
  });

  it('refuses four levels (324 bytes in the issue): a coordinate may appear twice on a path, not three times', async () => {
    const two = await post(nestedCatalog(1, 3));
    expect(two.body.errors).toBeUndefined();
    calls = 0;
    const res = await post(nestedCatalog(4, 50));
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions).toMatchObject({ reason: 'MAX_RECURSION', repeats: 5, limit: 2 });
    expect(['CourseConnection.edges', 'CourseEdge.node']).toContain(res.body.errors![0]!.extensions.coordinate);
    expect(calls).toBe(0);
  });

  it('refuses the Lesson.module → Module.lessons cycle', async () => {
    const res = await post(
      '{ course(id: "c1") { modules { lessons { module { lessons { module { lessons { id } } } } } } } }',
    );
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions).toMatchObject({
      reason: 'MAX_RECURSION',
      coordinate: 'Module.lessons',
      repeats: 3,
      limit: 2,
    });
    expect(calls).toBe(0);
  });

  it('refuses depth beyond the limit, following fragments and inline fragments', async () => {
    const app = serve({ LIMIT_MAX_DEPTH: '4' });
    const ok = await post(
      '{ course(id: "c1") { instructor { ...Name } } } fragment Name on User { name }',
      undefined,
      undefined,
      undefined,
      app,
    );
    expect(ok.body.errors).toBeUndefined();
    calls = 0;
    const res = await post(
      '{ course(id: "c1") { ... on Course { instructor { ...T } } } } fragment T on User { taughtCourses { edges { cursor } } }',
      undefined,
      undefined,
      undefined,
      app,
    );
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'MAX_DEPTH',
      depth: 5,
      limit: 4,
    });
    expect(res.body.errors![0]!.message).toBe('The operation is 5 fields deep; the limit is 4.');
    expect(calls).toBe(0);
  });

  it('refuses 2,000 aliases of catalog(first: 50)', async () => {
    const query = `{ ${Array.from({ length: 2000 }, (_, i) => `a${i}: catalog(first: 50) { totalCount }`).join(' ')} }`;
    const res = await post(query, undefined, undefined, undefined, serve({ LIMIT_MAX_TOKENS: '100000' }));
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'MAX_ALIASES',
      aliases: 2000,
      limit: 30,
    });
    expect(calls).toBe(0);
  });

  it('refuses many root fields, counted after fragments are expanded', async () => {
    const fields = Array.from({ length: 12 }, () => 'hello').join(' ');
    const res = await post(`{ ...A ...B } fragment A on Query { ${fields} } fragment B on Query { ${fields} }`);
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'MAX_ROOT_FIELDS',
      rootFields: 24,
      limit: 20,
    });
    expect(calls).toBe(0);
  });

  it('refuses cyclic fragments without hanging (validation names the cycle)', async () => {
    const res = await post(
      '{ course(id: "c1") { ...A } } fragment A on Course { instructor { taughtCourses { edges { node { ...B } } } } } fragment B on Course { ...A }',
    );
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors![0]!.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'GRAPHQL_VALIDATION_FAILED',
    });
    expect(res.body.errors![0]!.message).toMatch(/Cannot spread fragment "A" within itself/);
    expect(calls).toBe(0);
  });

  it('walks a fragment bomb (each fragment spreading the next twice) once per fragment', async () => {
    const levels = 60;
    const fragments = Array.from(
      { length: levels },
      (_, i) =>
        `fragment F${i} on Query { ...F${i + 1} ...G${i + 1} } fragment G${i} on Query { ...F${i + 1} ...G${i + 1} }`,
    ).join(' ');
    const query = `{ ...F0 } ${fragments} fragment F${levels} on Query { hello } fragment G${levels} on Query { hello }`;
    const res = await post(query);
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions).toMatchObject({ reason: 'MAX_ROOT_FIELDS', limit: 20 });
    expect(res.body.errors![0]!.extensions.rootFields as number).toBeGreaterThan(2 ** 50);
    expect(calls).toBe(0);
  }, 10_000);

  it('refuses a cost beyond the anonymous limit, with the figure next to it, and accepts it for an admin', async () => {
    const query =
      'query($n: Int) { catalog(first: $n) { edges { node { instructor { taughtCourses(first: $n) { totalCount } } } } } }';
    // 1 + n × (edges 1 + node 1 + instructor 1 + taughtCourses (1 + n × 0)) = 1 + 4n
    const res = await post(query, { n: 2000 });
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'COST_LIMIT',
      cost: 8001,
      limit: 5000,
    });
    expect(res.body.errors![0]!.message).toBe("The operation's cost is 8001; the limit for anonymous callers is 5000.");
    expect(calls).toBe(0);

    const learner = await post(query, { n: 2000 }, 'LEARNER');
    expect(learner.body.errors).toBeUndefined();
    const moreForLearner = await post(query, { n: 3000 }, 'LEARNER');
    expect(moreForLearner.body.errors![0]!.extensions).toMatchObject({
      reason: 'COST_LIMIT',
      cost: 12001,
      limit: 10000,
    });
    expect(moreForLearner.body.errors![0]!.message).toMatch(/the limit for signed-in users is 10000/);
    const admin = await post(query, { n: 3000 }, 'ADMIN');
    expect(admin.body.errors).toBeUndefined();
    expect(admin.body.data).toEqual({
      catalog: { edges: [{ node: { instructor: { taughtCourses: { totalCount: 1 } } } }] },
    });
  });

  it('answers 400 with the GraphQL response media type as well', async () => {
    const res = await post(nestedCatalog(3), undefined, undefined, 'application/graphql-response+json');
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions.reason).toBe('MAX_RECURSION');
  });

  it('refuses a mutation over the cost limit before its resolver runs', async () => {
    const app = serve({ LIMIT_MAX_COST_ANONYMOUS: '10' });
    const res = await post(
      'mutation { rename(id: "c1", title: "x") { instructor { name } } }',
      undefined,
      undefined,
      undefined,
      app,
    );
    expect(res.body.errors![0]!.extensions).toMatchObject({ reason: 'COST_LIMIT', cost: 11, limit: 10 });
    expect(calls).toBe(0);
  });

  it('runs everything when OPERATION_LIMITS is off', async () => {
    const res = await post(nestedCatalog(3), undefined, undefined, undefined, serve({ OPERATION_LIMITS: 'false' }));
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(calls).toBeGreaterThan(0);
  });

  it('judges an in-process batch (OPERATION_BATCH) per root field, and a client sending the same as one operation', async () => {
    const query = `{ ${Array.from({ length: 40 }, (_, i) => `e${i}: course(id: "c${i}") { title instructor { name } }`).join(' ')} }`;
    const batch = await post(query, undefined, undefined, undefined, yoga, { [OPERATION_BATCH]: true });
    expect(batch.body.errors).toBeUndefined();
    expect(Object.keys(batch.body.data!)).toHaveLength(40);
    calls = 0;
    const client = await post(query);
    expect(client.body.errors![0]!.extensions).toMatchObject({ reason: 'MAX_ALIASES', aliases: 40 });
    expect(calls).toBe(0);
    const deepBatch = await post(`{ e0: ${nestedCatalog(3).slice(2)}`, undefined, undefined, undefined, yoga, {
      [OPERATION_BATCH]: true,
    });
    expect(deepBatch.body.errors![0]!.extensions).toMatchObject({ reason: 'MAX_RECURSION' });
  });

  it("passes GraphiQL's introspection query for an admin", async () => {
    const res = await post(getIntrospectionQuery(), undefined, 'ADMIN');
    expect(res.body.errors).toBeUndefined();
    expect((res.body.data!.__schema as { queryType: { name: string } }).queryType.name).toBe('Query');
  });

  it('refuses nested introspection (a field of __Type repeated along one path)', async () => {
    const res = await post(
      '{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }',
      undefined,
      'ADMIN',
    );
    expect(res.body.errors![0]!.extensions).toMatchObject({
      reason: 'MAX_RECURSION',
      coordinate: '__Type.fields',
      repeats: 3,
    });
  });
});

describe('at a subgraph', () => {
  const subgraphSdl = /* GraphQL */ `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@cost", "@listSize"])
    type Query {
      course(id: ID!): Course
    }
    type Course @key(fields: "id") {
      id: ID!
      title: String!
      modules: [Module!]! @listSize(assumedSize: 5)
    }
    type Module {
      id: ID!
    }
  `;
  let references = 0;
  const subgraphSchema = buildSubgraphSchema({
    typeDefs: parse(subgraphSdl),
    resolvers: {
      Course: {
        __resolveReference: (ref: { id: string }) => (references++, { id: ref.id, title: 'T' }),
        modules: () => [{ id: 'm' }],
      },
    } as never,
  });
  const subgraph = serve({}, subgraphSchema, subgraphSdl);
  const ENTITIES = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Course { title modules { id } } } }';
  const representations = (n: number) => Array.from({ length: n }, (_, i) => ({ __typename: 'Course', id: `c${i}` }));

  it('refuses _entities with 10,000 representations: the cost counts each one', async () => {
    references = 0;
    const res = await post(ENTITIES, { r: representations(10_000) }, undefined, undefined, subgraph);
    expect(res.status).toBe(400);
    // 1 (the _entities list) + 10,000 × (modules: 1 + 5 × 0)
    expect(res.body.errors![0]!.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'COST_LIMIT',
      cost: 10_001,
      limit: 5000,
    });
    expect(references).toBe(0);
  });

  it('answers the gateway-sized fetch', async () => {
    references = 0;
    const res = await post(ENTITIES, { r: representations(50) }, undefined, undefined, subgraph);
    expect(res.body.errors).toBeUndefined();
    expect(references).toBe(50);
  });
});

describe('the cost rules', () => {
  const sdl = /* GraphQL */ `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@cost", "@listSize"])
    type Query {
      page(first: Int): ThingConnection!
      defaulted(first: Int = 7): ThingConnection!
      things: [Thing!]!
      sized: [Thing!]! @listSize(assumedSize: 3)
      sliced(limit: Int, top: Int): [Thing!]! @listSize(slicingArguments: ["limit", "top"])
      conn(first: Int): ThingConnection! @listSize(slicingArguments: ["first"], sizedFields: ["edges"])
      heavy: Thing! @cost(weight: 100)
      renamed: Thing! @federation__cost(weight: 40)
      scalar: Int!
      scalars: [Int!]!
      priced: Priced!
    }
    type Mutation {
      write: Thing!
      cheapWrite: Thing! @cost(weight: 2)
    }
    type Thing {
      id: ID!
      child: Thing
      tags: [String!]!
    }
    type Priced @cost(weight: 9) {
      id: ID!
    }
    type ThingConnection {
      totalCount: Int!
      edges: [ThingEdge!]!
      nodes: [Thing!]!
      pageInfo: Info!
    }
    type ThingEdge {
      node: Thing!
    }
    type Info {
      hasNextPage: Boolean!
    }
  `;
  const table = costTableFromSdl(sdl);
  const cost = (query: string, variables?: Record<string, unknown>) => {
    const document = parse(query);
    return operationCost(document, getOperationAST(document)!, table, variables, { defaultListSize: 10 });
  };

  it('weighs objects 1, scalars and __typename 0, mutation root fields 10 unless declared', () => {
    expect(cost('{ scalar scalars __typename }')).toBe(0);
    expect(cost('{ heavy { id child { id } } }')).toBe(101);
    expect(cost('{ renamed { id } }')).toBe(40);
    expect(cost('{ priced { id } }')).toBe(9);
    expect(cost('mutation { write { id } }')).toBe(10);
    expect(cost('mutation { cheapWrite { child { id } } }')).toBe(3);
  });

  it('multiplies by first (literal, variable, SDL default, else 20) and not again on edges and nodes', () => {
    expect(cost('{ page(first: 5) { edges { node { id } } } }')).toBe(1 + 5 * 2);
    expect(cost('query($n: Int) { page(first: $n) { nodes { child { id } } } }', { n: 8 })).toBe(1 + 8 * 2);
    expect(cost('query($n: Int) { page(first: $n) { edges { node { id } } } }', {})).toBe(1 + 20 * 2);
    expect(cost('{ defaulted { edges { node { id } } } }')).toBe(1 + 7 * 2);
    expect(cost('{ page { totalCount pageInfo { hasNextPage } } }')).toBe(1 + 20 * 1);
  });

  it('multiplies a list by @listSize(assumedSize:), else by the default list size', () => {
    expect(cost('{ things { child { id } } }')).toBe(1 + 10 * 1);
    expect(cost('{ sized { child { id } } }')).toBe(1 + 3 * 1);
    expect(cost('{ things { tags } }')).toBe(1);
  });

  it('takes the largest slicing argument given, and applies it to sized fields only', () => {
    expect(cost('{ sliced(limit: 4, top: 6) { child { id } } }')).toBe(1 + 6);
    expect(cost('{ conn(first: 30) { pageInfo { hasNextPage } edges { node { id } } } }')).toBe(1 + 1 + 30 * 2);
  });

  it('adds what fragments select, once per spread', () => {
    expect(cost('{ things { ...C ... on Thing { child { id } } } } fragment C on Thing { child { id } }')).toBe(
      1 + 10 * 2,
    );
  });

  it('reads the shape of a document', () => {
    const shape = analyseShape(
      parse('{ a: heavy { b: child { child { id } } } page { edges { node { id } } } }'),
      table,
    );
    expect(shape).toEqual({ depth: 4, recursion: { coordinate: 'Thing.child', count: 2 }, aliases: 2, rootFields: 2 });
  });
});
