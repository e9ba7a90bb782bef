/**
 * A subgraph down, slow or circuit-broken, through the whole platform: paused with SIGSTOP (its
 * calls time out), then its circuit opens after repeated failures (calls fail at once, the breaker's
 * change is logged), then it resumes and the circuit half-opens, a probe succeeds and answers are
 * whole again; then killed (connection refused) and restarted. Throughout, only the fields that
 * subgraph owns are null, with one SUBGRAPH_UNAVAILABLE error naming it; the rest of the answer
 * arrives. Search (Rust) and two TypeScript subgraphs (enrollment, identity) are tried.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type E2E,
  eventually,
  type GraphQLResponse,
  person,
  publishCourse,
  type PublishedCourse,
  serviceLog,
  startE2E,
} from '@coursegraph/test-support';

const SUITE = 'subgraph-outage';
// Short budgets so the suite is quick; the breaker opens after three failures in a row.
const SUBGRAPH_TIMEOUT_MS = 1_500;
const BREAKER_FAILURES = 3;
const BREAKER_OPEN_MS = 2_000;

let e2e: E2E;
let course: PublishedCourse;
let instructorName: string;

beforeAll(async () => {
  e2e = await startE2E(SUITE, {
    env: {
      GATEWAY_SUBGRAPH_TIMEOUT_MS: String(SUBGRAPH_TIMEOUT_MS),
      GATEWAY_REQUEST_TIMEOUT_MS: '6000',
      GATEWAY_BREAKER_FAILURES: String(BREAKER_FAILURES),
      GATEWAY_BREAKER_OPEN_MS: String(BREAKER_OPEN_MS),
    },
  });
  const instructor = await person(e2e, 'INSTRUCTOR');
  instructorName = instructor.name;
  course = await publishCourse(e2e.gql, instructor);
});

afterAll(async () => {
  // Never leave a paused process behind.
  for (const name of ['search', 'enrollment', 'identity']) signal(name, 'SIGCONT');
  await e2e?.platform.stop();
});

/** The current process of `name` (a restart replaces it). */
function processOf(name: string) {
  const children = e2e.platform.children as { name: string; child: import('node:child_process').ChildProcess }[];
  return [...children].reverse().find((c) => c.name === name)!.child;
}

function signal(name: string, sig: NodeJS.Signals) {
  const child = e2e ? processOf(name) : undefined;
  if (child && child.exitCode === null && child.signalCode === null) child.kill(sig);
}

/** The gateway's log lines (JSON). */
const gatewayLog = () => serviceLog(e2e, 'gateway');

const breakerChanges = (subgraph: string) =>
  gatewayLog()
    .filter((l) => l.event === 'circuit-breaker' && l.subgraph === subgraph)
    .map((l) => `${l.from}→${l.to}`);

const CATALOG_AND_SEARCH = `{ catalog(first: 5) { totalCount } search(query: "course", first: 1) { totalCount } }`;
const CATALOG_WITH_COUNTS = `{ catalog(first: 50) { totalCount edges { node { id title enrollmentCount } } } }`;
const CATALOG_WITH_INSTRUCTORS = `{ catalog(first: 50) { totalCount edges { node { id title instructor { name } } } } }`;

/** The one SUBGRAPH_UNAVAILABLE error of an answer, checked for what it must and must not say. */
function unavailable(res: GraphQLResponse, subgraph: string) {
  expect(res.status).toBe(200);
  expect(res.body.errors).toHaveLength(1);
  const [error] = res.body.errors!;
  expect(error!.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', subgraph });
  expect(error!.message).toMatch(new RegExp(`^The ${subgraph} service|before the ${subgraph} service answered`));
  // Nothing internal: no address, no errno, no stack.
  const text = JSON.stringify(res.body);
  for (const internal of ['127.0.0.1', 'ECONN', 'http://', 'stack', 'serviceName'])
    expect(text).not.toContain(internal);
  return error!.extensions!.reason as string;
}

const ourCourse = (res: GraphQLResponse) =>
  res.body.data?.catalog?.edges.find((e: any) => e.node.id === course.courseId)?.node;

describe('a subgraph paused, circuit-broken, resumed, killed and restarted', () => {
  it(
    'search: partial answers, the circuit opens and closes again, recovery after a restart',
    { timeout: 180_000 },
    async () => {
      const whole = await e2e.gql(CATALOG_AND_SEARCH);
      expect(whole.body.errors).toBeUndefined();
      expect(whole.body.data!.catalog.totalCount).toBeGreaterThan(0);
      expect(whole.body.data!.search).toEqual({ totalCount: expect.any(Number) });

      signal('search', 'SIGSTOP');
      try {
        // Paused: the call times out; the catalog part arrives, search is null.
        const partial = await e2e.gql(CATALOG_AND_SEARCH);
        expect(unavailable(partial, 'search')).toBe('TIMEOUT');
        expect(partial.body.data).toEqual({
          catalog: { totalCount: whole.body.data!.catalog.totalCount },
          search: null,
        });
        expect(partial.body.errors![0]!.message).toBe('The search service is unavailable; its fields are null.');

        // Failures in a row open the circuit: then search is not even tried, and says so.
        const open = await eventually(
          'the search circuit to open',
          async () => {
            const res = await e2e.gql(CATALOG_AND_SEARCH);
            return unavailable(res, 'search') === 'CIRCUIT_OPEN' ? res : undefined;
          },
          { timeoutMs: 60_000 },
        );
        expect(open.body.data!.catalog.totalCount).toBe(whole.body.data!.catalog.totalCount);
        expect(open.body.data!.search).toBeNull();
        expect(breakerChanges('search')).toContain('closed→open');
      } finally {
        signal('search', 'SIGCONT');
      }

      // Resumed: after the open period a probe goes through, succeeds, and the circuit closes.
      await eventually(
        'whole answers again',
        async () => {
          const res = await e2e.gql(CATALOG_AND_SEARCH);
          return !res.body.errors && res.body.data?.search ? res : undefined;
        },
        { timeoutMs: 60_000 },
      );
      expect(breakerChanges('search')).toEqual(
        expect.arrayContaining(['closed→open', 'open→half-open', 'half-open→closed']),
      );

      // Killed: connections are refused; again only search is null.
      await e2e.platform.kill('search');
      const down = await e2e.gql(CATALOG_AND_SEARCH);
      expect(['UNREACHABLE', 'CIRCUIT_OPEN']).toContain(unavailable(down, 'search'));
      expect(down.body.data).toEqual({ catalog: { totalCount: whole.body.data!.catalog.totalCount }, search: null });

      await e2e.platform.restart('search');
      const back = await eventually(
        'search back after its restart',
        async () => {
          const res = await e2e.gql(CATALOG_AND_SEARCH);
          return !res.body.errors && res.body.data?.search ? res : undefined;
        },
        { timeoutMs: 60_000 },
      );
      expect(back.body.data!.catalog.totalCount).toBe(whole.body.data!.catalog.totalCount);
    },
  );

  it(
    'enrollment paused: courses intact, only enrollmentCount null; whole again once resumed',
    { timeout: 120_000 },
    async () => {
      const whole = await e2e.gql(CATALOG_WITH_COUNTS);
      expect(whole.body.errors).toBeUndefined();
      expect(ourCourse(whole)).toEqual({ id: course.courseId, title: course.title, enrollmentCount: 0 });

      signal('enrollment', 'SIGSTOP');
      try {
        const partial = await e2e.gql(CATALOG_WITH_COUNTS);
        expect(unavailable(partial, 'enrollment')).toBe('TIMEOUT');
        expect(partial.body.data!.catalog.totalCount).toBe(whole.body.data!.catalog.totalCount);
        expect(ourCourse(partial)).toEqual({ id: course.courseId, title: course.title, enrollmentCount: null });
        expect(
          partial.body.data!.catalog.edges.every((e: any) => e.node.title && e.node.enrollmentCount === null),
        ).toBe(true);
      } finally {
        signal('enrollment', 'SIGCONT');
      }
      await eventually(
        'enrollment counts again',
        async () => {
          const res = await e2e.gql(CATALOG_WITH_COUNTS);
          return !res.body.errors && ourCourse(res)?.enrollmentCount === 0;
        },
        { timeoutMs: 60_000 },
      );
    },
  );

  it('identity paused: courses intact, instructors null; whole again once resumed', { timeout: 120_000 }, async () => {
    const whole = await e2e.gql(CATALOG_WITH_INSTRUCTORS);
    expect(whole.body.errors).toBeUndefined();
    expect(ourCourse(whole)).toEqual({
      id: course.courseId,
      title: course.title,
      instructor: { name: instructorName },
    });

    signal('identity', 'SIGSTOP');
    try {
      const partial = await e2e.gql(CATALOG_WITH_INSTRUCTORS);
      expect(unavailable(partial, 'identity')).toBe('TIMEOUT');
      expect(ourCourse(partial)).toEqual({ id: course.courseId, title: course.title, instructor: null });
    } finally {
      signal('identity', 'SIGCONT');
    }
    await eventually(
      'instructor names again',
      async () => {
        const res = await e2e.gql(CATALOG_WITH_INSTRUCTORS);
        return !res.body.errors && ourCourse(res)?.instructor?.name === instructorName;
      },
      { timeoutMs: 60_000 },
    );
  });
});
