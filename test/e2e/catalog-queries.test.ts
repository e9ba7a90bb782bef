/**
 * No N+1: the catalog page with instructor names, module and lesson counts and enrollment counts
 * costs a constant number of SQL queries per subgraph, whatever the page size. Each subgraph
 * connects as its own PostgreSQL role, so pg_stat_statements counts its statements separately; the
 * platform runs on a database of this test's own, so no other suite's queries are counted.
 *
 * On the same platform: Hive Gateway, serving the committed supergraph unchanged as the scale-out
 * gateway, answers the project's persisted operations exactly as ours does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { parse, Kind, type OperationDefinitionNode } from 'graphql';
import {
  checkoutWhenPurchasable,
  type E2E,
  eventually,
  freePort,
  type Gql,
  person,
  type Person,
  postgresAdminUrl,
  publishCourse,
  ROOT,
  SANDBOX_CARDS,
  startE2E,
  VIEWER_ENROLLMENT,
} from '@coursegraph/test-support';

const ROLES = ['cg_identity', 'cg_course', 'cg_enrollment'];

let e2e: E2E;
let gql: Gql;
let admin: pg.Client;

const CATALOG = `query($first: Int!) { catalog(first: $first) { totalCount edges { node {
  id title price { amountMinor currency } instructor { id name } moduleCount lessonCount enrollmentCount } } } }`;

/** Statements per role in this test's database, leaving out the event workers' background polling. */
async function statementsByRole(): Promise<Record<string, number>> {
  const { rows } = await admin.query(
    `select r.rolname as role, coalesce(sum(s.calls), 0)::int as calls
       from pg_stat_statements s join pg_roles r on r.oid = s.userid join pg_database d on d.oid = s.dbid
      where d.datname = $1 and r.rolname = any($2)
        and s.query !~* '(outbox_events|processed_events|^\\s*(begin|commit|rollback|listen|select 1\\b|select pg_notify))'
      group by r.rolname`,
    [e2e.database, ROLES],
  );
  return Object.fromEntries(ROLES.map((role) => [role, rows.find((r) => r.role === role)?.calls ?? 0]));
}

async function queriesFor(first: number): Promise<Record<string, number>> {
  // Warm once (plans, prepared statements), then count a second identical request.
  await gql(CATALOG, { first });
  const before = await statementsByRole();
  const res = await gql(CATALOG, { first });
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data!.catalog.edges).toHaveLength(first);
  const after = await statementsByRole();
  return Object.fromEntries(ROLES.map((role) => [role, after[role]! - before[role]!]));
}

beforeAll(async () => {
  e2e = await startE2E('queries');
  gql = e2e.gql;
  const adminUrl = new URL(postgresAdminUrl());
  adminUrl.pathname = `/${e2e.database}`;
  admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  await admin.query('create extension if not exists pg_stat_statements');

  // 55 published courses by 5 instructors, some with learners.
  const instructors = await Promise.all(Array.from({ length: 5 }, () => person(e2e, 'INSTRUCTOR')));
  const courses = [];
  for (let i = 0; i < 55; i++) courses.push(await publishCourse(gql, instructors[i % 5]!, { lessons: 1 + (i % 3) }));
  const learners = await Promise.all(Array.from({ length: 3 }, () => person(e2e)));
  for (const course of courses.slice(0, 10)) {
    for (const learner of learners) {
      await eventually('free enrolment', async () => {
        const res = await gql(
          `mutation($c: ID!) { enrol(courseId: $c) { id } }`,
          { c: course.courseId },
          learner.token,
        );
        return res.body.data?.enrol;
      });
    }
  }
}, 300_000);

afterAll(async () => {
  await e2e?.platform.stop();
  await admin?.end();
});

describe('the catalog through the gateway', () => {
  it('costs the same number of SQL queries per subgraph for 5 and for 50 courses', async () => {
    const small = await queriesFor(5);
    const large = await queriesFor(50);
    console.log(
      `SQL statements per catalog request, by subgraph role: first=5 ${JSON.stringify(small)}; first=50 ${JSON.stringify(large)}`,
    );
    expect(large).toEqual(small);
    for (const role of ROLES) expect(small[role]).toBeGreaterThan(0);
  });
});

// Hive Gateway as the scale-out gateway (docs/deployment.md): started on the committed
// schema/supergraph.graphql as it is, each subgraph's URL given by Hive Gateway's own per-subgraph
// override (test/e2e/hive-gateway.config.mjs reads the SUBGRAPH_<NAME>_URL variables our gateway
// reads), and loaded with the project's persisted operations (schema/operations/, written by
// scripts/persisted-documents.mjs), which are all it runs. Every persisted operation goes to both
// gateways, anonymous and signed in, and the answers must be the same: `data`, and the error codes
// where the caller may not have what it asked for. Only legitimate operations: Hive Gateway has none
// of our operation limits or rate limits, so those are not compared.

/** Persisted id → document, as Hive Gateway loads it, and each operation's id by its name. */
const MANIFEST: Record<string, string> = JSON.parse(
  fs.readFileSync(path.join(ROOT, 'schema/operations/persisted-documents.json'), 'utf8'),
);
const ID_OF: Record<string, string> = Object.fromEntries(
  Object.entries(MANIFEST).map(([id, document]) => {
    const operation = parse(document).definitions.find(
      (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
    );
    return [operation!.name!.value, id];
  }),
);

/** What is compared: the data, and each error's code (sorted: the two may list them in another order). */
interface Answer {
  data: unknown;
  codes: string[];
}

async function post(url: string, body: Record<string, unknown>, token?: string): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
  return { data: json.data ?? null, codes: (json.errors ?? []).map((e) => e.extensions?.code ?? 'NO_CODE').sort() };
}

/** Ours gets the document, as our clients send it today; Hive Gateway only its persisted id. */
const askOurs = (operation: string, variables: Record<string, unknown>, token?: string) =>
  post(e2e.endpoint, { query: MANIFEST[ID_OF[operation]!], variables }, token);
const askHive = (url: string, operation: string, variables: Record<string, unknown>, token?: string) =>
  post(url, { variables, extensions: { persistedQuery: { version: 1, sha256Hash: ID_OF[operation] } } }, token);

/** Hive Gateway on a free port, ready when it answers a persisted operation. */
async function startHiveGateway(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const subgraphUrls = Object.fromEntries(
    Object.entries(e2e.ports)
      .filter(([name]) => name !== 'gateway')
      .map(([name, p]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, `http://127.0.0.1:${p}/graphql`]),
  );
  const logFile = path.join(e2e.logDir, 'hive-gateway.log');
  const out = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn(
    path.join(ROOT, 'node_modules/.bin/hive-gateway'),
    [
      'supergraph',
      path.join(ROOT, 'schema/supergraph.graphql'),
      '--config-path',
      path.join(ROOT, 'test/e2e/hive-gateway.config.mjs'),
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
    ],
    { env: { ...process.env, ...subgraphUrls }, stdio: ['ignore', out, out], cwd: ROOT },
  );
  fs.closeSync(out);
  const url = `http://127.0.0.1:${port}/graphql`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Hive Gateway exited with ${child.exitCode}; see ${logFile}`);
    const answer = await askHive(url, 'Categories', {}).catch(() => null);
    if (answer?.data) return { url, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Hive Gateway did not answer at ${url}; see ${logFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('Hive Gateway serving the committed supergraph', () => {
  let hive: { url: string; stop: () => Promise<void> };
  let instructor: Person;
  let learner: Person;
  let admin: Person;
  let paid: Awaited<ReturnType<typeof publishCourse>>;
  let free: Awaited<ReturnType<typeof publishCourse>>;
  let paidSlug: string;
  let certificateId: string;
  let nextCursor: string;

  beforeAll(async () => {
    // A paid course the learner buys, a free one they complete (a certificate), an admin.
    instructor = await person(e2e, 'INSTRUCTOR');
    learner = await person(e2e);
    admin = await person(e2e, 'ADMIN');
    paid = await publishCourse(gql, instructor, { priceMinor: 2_900, lessons: 2, title: 'Parity of gateways, paid' });
    free = await publishCourse(gql, instructor, { lessons: 2, title: 'Parity of gateways, free' });
    const bought = await checkoutWhenPurchasable(gql, learner, paid.courseId, SANDBOX_CARDS.success);
    expect(bought.body.errors).toBeUndefined();
    await eventually(
      'the paid enrolment',
      async () =>
        (await gql(VIEWER_ENROLLMENT, { c: paid.courseId }, learner.token)).body.data?.course?.viewerEnrollment,
    );
    // Enrollment learns of the course from its events: retried until it has.
    await eventually(
      'the free enrolment',
      async () =>
        (await gql(`mutation($c: ID!) { enrol(courseId: $c) { id } }`, { c: free.courseId }, learner.token)).body.data
          ?.enrol,
    );
    for (const lessonId of free.lessonIds) {
      const done = await gql(
        `mutation($c: ID!, $l: ID!) { completeLesson(courseId: $c, lessonId: $l) { id } }`,
        { c: free.courseId, l: lessonId },
        learner.token,
      );
      expect(done.body.errors).toBeUndefined();
    }
    certificateId = await eventually('the certificate', async () => {
      const res = await gql(
        `{ me { enrollments(first: 20) { edges { node { course { id } certificate { publicId } } } } } }`,
        {},
        learner.token,
      );
      return res.body.data?.me?.enrollments.edges.find((e: any) => e.node.course.id === free.courseId)?.node.certificate
        ?.publicId as string | undefined;
    });
    paidSlug = (await gql(`query($id: ID!) { course(id: $id) { slug } }`, { id: paid.courseId })).body.data!.course
      .slug;
    // Search is fed by course events: wait until it has both courses.
    await eventually(
      'search to index the courses',
      async () => (await gql(`{ search(query: "parity") { totalCount } }`)).body.data?.search?.totalCount >= 2,
    );
    nextCursor = (await gql(`{ catalog(first: 10, sort: TITLE) { pageInfo { endCursor } } }`)).body.data!.catalog
      .pageInfo.endCursor;
    hive = await startHiveGateway();
  }, 180_000);

  afterAll(async () => {
    await hive?.stop();
  });

  interface Case {
    operation: string;
    caller: 'anonymous' | 'learner' | 'instructor' | 'admin';
    variables?: () => Record<string, unknown>;
    /** The code of every error the caller must get (from both); no error when omitted. */
    refusedWith?: string;
  }
  const CASES: Case[] = [
    { operation: 'CatalogPage', caller: 'anonymous', variables: () => ({ first: 10, sort: 'TITLE' }) },
    {
      operation: 'CatalogPage',
      caller: 'anonymous',
      variables: () => ({ first: 10, sort: 'TITLE', after: nextCursor }),
    },
    {
      operation: 'CatalogPage',
      caller: 'learner',
      variables: () => ({ first: 5, sort: 'PRICE_DESC', filter: { isFree: false } }),
    },
    { operation: 'Categories', caller: 'anonymous' },
    { operation: 'CoursePage', caller: 'anonymous', variables: () => ({ slug: paidSlug }) },
    { operation: 'CourseForLearner', caller: 'anonymous', variables: () => ({ id: paid.courseId }) },
    { operation: 'CourseForLearner', caller: 'learner', variables: () => ({ id: paid.courseId }) },
    { operation: 'CourseForLearner', caller: 'instructor', variables: () => ({ id: free.courseId }) },
    { operation: 'SearchPage', caller: 'anonymous', variables: () => ({ q: 'parity', first: 10 }) },
    { operation: 'SearchPage', caller: 'learner', variables: () => ({ q: 'gatway', first: 5 }) },
    { operation: 'LearnerHome', caller: 'learner' },
    { operation: 'LearnerNetwork', caller: 'learner' },
    {
      operation: 'CompleteLesson',
      caller: 'learner',
      variables: () => ({ courseId: free.courseId, lessonId: free.lessonIds[0] }),
    },
    { operation: 'VerifyCertificate', caller: 'anonymous', variables: () => ({ publicId: certificateId }) },
    { operation: 'MyCourses', caller: 'instructor' },
    { operation: 'AdminUsers', caller: 'admin', variables: () => ({ first: 20, filter: { role: 'INSTRUCTOR' } }) },
    { operation: 'AdminLedger', caller: 'admin', variables: () => ({ first: 50 }) },
    { operation: 'Me', caller: 'anonymous' },
    { operation: 'Me', caller: 'learner' },
    { operation: 'Me', caller: 'admin' },
    // What the caller may not have: the same refusal from both.
    { operation: 'LearnerHome', caller: 'anonymous', refusedWith: 'UNAUTHENTICATED' },
    { operation: 'AdminUsers', caller: 'learner', variables: () => ({ first: 5 }), refusedWith: 'FORBIDDEN' },
    { operation: 'MyCourses', caller: 'learner', refusedWith: 'FORBIDDEN' },
    {
      operation: 'Checkout',
      caller: 'anonymous',
      variables: () => ({
        input: {
          courseId: paid.courseId,
          idempotencyKey: 'parity-anonymous-checkout',
          paymentMethod: SANDBOX_CARDS.success,
        },
      }),
      refusedWith: 'UNAUTHENTICATED',
    },
    {
      operation: 'ReviewCard',
      caller: 'anonymous',
      variables: () => ({ input: { cardId: '00000000-0000-4000-8000-000000000000', rating: 'GOOD', version: 1 } }),
      refusedWith: 'UNAUTHENTICATED',
    },
  ];
  const tokenOf = (caller: Case['caller']) =>
    ({ anonymous: undefined, learner: learner.token, instructor: instructor.token, admin: admin.token })[caller];

  it('has a case for every persisted operation', () => {
    expect([...new Set(CASES.map((c) => c.operation))].sort()).toEqual(Object.keys(ID_OF).sort());
  });

  it.each(
    CASES.map((c) => ({
      ...c,
      label: `${c.operation} (${c.caller}${c.refusedWith ? `, refused with ${c.refusedWith}` : ''})`,
    })),
  )('answers $label as ours does', async ({ operation, caller, variables, refusedWith }) => {
    const vars = variables?.() ?? {};
    const token = tokenOf(caller);
    // Events still arriving (a notification, a count) may change an answer between two requests:
    // compare once ours answers the same before and after Hive Gateway does.
    let ours: Answer | undefined;
    let theirs: Answer | undefined;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const before = await askOurs(operation, vars, token);
      theirs = await askHive(hive.url, operation, vars, token);
      ours = await askOurs(operation, vars, token);
      const settled = JSON.stringify(before) === JSON.stringify(ours);
      if ((settled && JSON.stringify(theirs) === JSON.stringify(ours)) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    if (refusedWith) {
      expect(ours.codes.length).toBeGreaterThan(0);
      expect(new Set(ours.codes)).toEqual(new Set([refusedWith]));
    } else {
      expect(ours.codes).toEqual([]);
      expect(ours.data).toBeTruthy();
    }
    expect(theirs).toEqual(ours);
  });

  it('runs nothing but the persisted operations', async () => {
    // A document instead of an id: Hive Gateway's code for "persisted operations only".
    expect(await post(hive.url, { query: '{ me { id } }' })).toEqual({
      data: null,
      codes: ['CANNOT_SEND_PQ_ID_AND_BODY'],
    });
    const unknown = await post(hive.url, {
      extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } },
    });
    expect(unknown).toEqual({ data: null, codes: ['PERSISTED_QUERY_NOT_IN_LIST'] });
  });
});
