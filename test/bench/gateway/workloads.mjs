// The three workloads, their reference answers and the checks every answer under load goes through.
//   catalog   anonymous catalog page of 20 courses: course (titles, prices), identity (instructor
//             names), enrollment (counts): three subgraphs.
//   deep      a signed-in learner's dashboard, nested as deep as the public federation gateway
//             benchmark's query: me (identity) → enrollments (enrollment) → course (course) →
//             instructor (identity) → taughtCourses (course) → enrollmentCount (enrollment) →
//             instructor → taughtCourses …, plus me → orders (payment) → course → instructor → …
//   mutation  completeLesson by many signed-in learners, each request a different learner and lesson.
// and the real-traffic workloads of traffic.mjs: varied, dashboard-varied, mixed.
// References come from one gateway before any load; every gateway must give the same answers first.

import fs from 'node:fs';
import { buildVariedOperations, mixedWorkload, schedule } from './traffic.mjs';

/** A project operation (schema/operations/<file>.graphql): what the benchmark sends is what clients persist. */
const operation = (file) => fs.readFileSync(new URL(`../../../schema/operations/${file}`, import.meta.url), 'utf8');

export const CATALOG_QUERY = operation('catalog-page.graphql');
export const DEEP_QUERY = operation('learner-network.graphql');
export const MUTATION = operation('complete-lesson.graphql');

const LEARNER_STATE = `query LearnerState {
  me { id enrollments(first: 50) { edges { node { id status course { id title modules { lessons { id kind } } } progress { completedLessonIds } } } } orders(first: 1) { totalCount } }
}`;

const LOG_IN = `mutation LogIn($input: LogInInput!) { logIn(input: $input) { accessToken } }`;

export async function gql(url, query, variables, token, attempt = 1) {
  let res;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
  } catch (err) {
    // Set-up only (not the measured load): a kept-alive connection closed by the server as it was
    // reused ("other side closed") is tried again on a new one.
    if (attempt < 3) return gql(url, query, variables, token, attempt + 1);
    throw err;
  }
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: { errors: [{ message: `not JSON: ${text.slice(0, 200)}` }] } };
  }
}

const must = (res, what) => {
  if (res.status !== 200 || res.body.errors || !res.body.data)
    throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body.errors ?? res.body).slice(0, 400)}`);
  return res.body.data;
};

async function inBatches(items, size, fn) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

/**
 * A GraphQL answer's problem, or null: HTTP status, errors, then what `expect(data)` says. An answer
 * byte-identical to `exact` (the reference serialised as `{"data":…}`) is right without parsing, so
 * the checking costs the load generator little CPU on the machine it shares with the gateways.
 */
function judge(status, text, expect, exact) {
  if (status !== 200) return `HTTP ${status}`;
  if (exact !== undefined && (text === exact || text === `${exact}\n`)) return null;
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (body.errors)
    return `GraphQL error: ${body.errors[0]?.extensions?.code ?? ''} ${body.errors[0]?.message ?? ''}`.slice(0, 160);
  if (!body.data) return 'no data';
  return expect(body.data);
}

/**
 * Signs in demo learners (through `url`) and splits them: `dashboardLearners` read-only learners with
 * enrolments (those with orders first) whose dashboards are read, the first `deepLearners` of them
 * for the deep workload, and `mutationGroups` disjoint groups of the others (one per measured
 * mutation workload) whose not-yet-completed lessons the mutations complete.
 */
export async function prepareLearners(url, { learners, deepLearners, dashboardLearners, mutationGroups, password }) {
  const emails = Array.from({ length: learners }, (_, i) => `learner${String(i + 1).padStart(4, '0')}@coursegraph.dev`);
  const people = await inBatches(emails, 8, async (email) => {
    const { logIn } = must(await gql(url, LOG_IN, { input: { email, password } }), `logIn ${email}`);
    const { me } = must(await gql(url, LEARNER_STATE, {}, logIn.accessToken), `state of ${email}`);
    return { email, token: logIn.accessToken, me };
  });
  // Learners with orders first (all four subgraphs have data to give), then others with enrolments.
  const enrolled = people.filter((p) => p.me.enrollments.edges.length > 0);
  const readers = [
    ...enrolled.filter((p) => p.me.orders.totalCount > 0),
    ...enrolled.filter((p) => p.me.orders.totalCount === 0),
  ].slice(0, Math.max(deepLearners, dashboardLearners));
  if (readers.length < Math.max(deepLearners, dashboardLearners))
    throw new Error(`only ${readers.length} learners with enrolments among the first ${learners}`);
  const deep = readers.slice(0, deepLearners);
  const deepSet = new Set(readers);
  const withLessonsLeft = people
    .filter((p) => !deepSet.has(p))
    .map((p) => ({
      ...p,
      items: p.me.enrollments.edges
        .map((e) => e.node)
        .filter((n) => n.status === 'ACTIVE')
        .flatMap((n) =>
          n.course.modules
            .flatMap((m) => m.lessons)
            // A quiz lesson may need its quiz passed first (learning's gate): only other kinds are completed.
            .filter((l) => l.kind !== 'QUIZ' && !n.progress.completedLessonIds.includes(l.id))
            .map((l) => ({
              token: p.token,
              enrollmentId: n.id,
              courseId: n.course.id,
              title: n.course.title,
              lessonId: l.id,
            })),
        ),
    }))
    .filter((p) => p.items.length > 0);
  // One spare learner's lesson, completed on every gateway in turn, shows they answer a mutation alike.
  const spare = withLessonsLeft.shift();
  const groups = Array.from({ length: mutationGroups }, () => []);
  withLessonsLeft.forEach((p, i) => groups[i % mutationGroups].push(p));
  // Interleave learners, so concurrent requests are different learners' (rows don't collide).
  const interleave = (group) => {
    const out = [];
    for (let round = 0; group.some((p) => round < p.items.length); round++)
      for (const p of group) if (round < p.items.length) out.push(p.items[round]);
    return out;
  };
  return {
    dashboard: readers.map((p) => ({ email: p.email, token: p.token })),
    deep: deep.map((p) => ({ email: p.email, token: p.token })),
    deepWithOrders: deep.filter((p) => p.me.orders.totalCount > 0).length,
    mutationGroups: groups.map(interleave),
    agreementItem: spare.items[0],
    signedIn: people.length,
  };
}

/**
 * Reference answers (the `data` of each query, serialised) fetched before any load: the catalog, every
 * dashboard learner's deep query (the deep workload's learners are the first of them) and the varied
 * operations drawn with `seed`.
 */
export async function fetchReferences(url, learners, catalogPageSize, { seed, variedOperations }) {
  const catalog = JSON.stringify(must(await gql(url, CATALOG_QUERY, { first: catalogPageSize }), 'catalog reference'));
  const dashboard = await inBatches(learners.dashboard, 8, async (p) =>
    JSON.stringify(must(await gql(url, DEEP_QUERY, {}, p.token), `deep reference for ${p.email}`)),
  );
  const varied = await buildVariedOperations(gql, url, { seed, distinct: variedOperations });
  return { catalog, dashboard, deep: dashboard.slice(0, learners.deep.length), varied };
}

/**
 * Asserts that `url` answers exactly as the references (every deep learner, the catalog) and that
 * the agreement mutation's answer equals `mutationReference` when given. Returns the mutation answer.
 */
export async function assertSameResults(name, url, learners, references, catalogPageSize, mutationReference) {
  const catalog = JSON.stringify(must(await gql(url, CATALOG_QUERY, { first: catalogPageSize }), `${name} catalog`));
  if (catalog !== references.catalog) throw new Error(`${name}: the catalog differs from the reference`);
  await inBatches(learners.dashboard, 8, async (p) => {
    const deep = JSON.stringify(must(await gql(url, DEEP_QUERY, {}, p.token), `${name} deep ${p.email}`));
    if (deep !== references.dashboard[learners.dashboard.indexOf(p)])
      throw new Error(`${name}: the deep query for ${p.email} differs from the reference`);
  });
  await inBatches(references.varied, 8, async (op) => {
    const data = JSON.stringify(must(await gql(url, op.query, op.variables), `${name} ${op.name}`));
    if (data !== op.reference)
      throw new Error(`${name}: ${op.name} ${JSON.stringify(op.variables)} differs from the reference`);
  });
  const item = learners.agreementItem;
  const mutation = JSON.stringify(
    must(
      await gql(url, MUTATION, { courseId: item.courseId, lessonId: item.lessonId }, item.token),
      `${name} mutation`,
    ),
  );
  if (mutationReference && mutation !== mutationReference)
    throw new Error(`${name}: the mutation's answer differs: ${mutation} vs ${mutationReference}`);
  return mutation;
}

/**
 * The workload objects the load loop drives: `next(i)` → { body, headers, check }. `mutationGroup`
 * feeds the mutation workload, `mixedGroup` the mutations of the mixed one; `seed` orders the varied ones.
 */
export function workloads(learners, references, catalogPageSize, { mutationGroup, mixedGroup, seed }) {
  const catalogBody = JSON.stringify({ query: CATALOG_QUERY, variables: { first: catalogPageSize } });
  const catalogExact = `{"data":${references.catalog}}`;
  const catalogCheck = (status, text) =>
    judge(
      status,
      text,
      (data) => (JSON.stringify(data) === references.catalog ? null : 'wrong catalog answer'),
      catalogExact,
    );
  const dashboardRequests = learners.dashboard.map((p, i) => ({
    body: JSON.stringify({ query: DEEP_QUERY }),
    headers: { authorization: `Bearer ${p.token}` },
    check: (status, text) =>
      judge(
        status,
        text,
        (data) => (JSON.stringify(data) === references.dashboard[i] ? null : 'wrong deep answer'),
        `{"data":${references.dashboard[i]}}`,
      ),
  }));
  const deepRequests = dashboardRequests.slice(0, learners.deep.length);
  const variedRequests = references.varied.map((op) => ({
    body: JSON.stringify({ query: op.query, variables: op.variables }),
    headers: {},
    check: (status, text) =>
      judge(
        status,
        text,
        (data) => (JSON.stringify(data) === op.reference ? null : `wrong ${op.name} answer`),
        `{"data":${op.reference}}`,
      ),
  }));
  const mutationRequestsOf = (group) =>
    group.map((item) => ({
      body: JSON.stringify({ query: MUTATION, variables: { courseId: item.courseId, lessonId: item.lessonId } }),
      headers: { authorization: `Bearer ${item.token}` },
      check: (status, text) =>
        judge(status, text, ({ completeLesson: e }) =>
          e?.id === item.enrollmentId &&
          e.course?.id === item.courseId &&
          e.course.title === item.title &&
          e.progress?.completedLessonIds?.includes(item.lessonId)
            ? null
            : 'wrong mutation answer',
        ),
    }));
  const cycle = (requests) => ({ next: (i) => requests[i % requests.length], items: requests.length });
  // Seeded orders over the pools, so neighbouring connections rarely send the same request at once.
  const shuffled = (requests, salt) => {
    const order = schedule(seed + salt, requests.length);
    return { next: (i) => requests[order[i % order.length]], items: requests.length };
  };
  const varied = shuffled(variedRequests, 1);
  const dashboard = shuffled(dashboardRequests, 2);
  return {
    catalog: { next: () => ({ body: catalogBody, headers: {}, check: catalogCheck }) },
    deep: cycle(deepRequests),
    mutation: cycle(mutationRequestsOf(mutationGroup)),
    varied,
    'dashboard-varied': dashboard,
    mixed: mixedWorkload({ varied, dashboard, mutation: cycle(mutationRequestsOf(mixedGroup)) }, seed + 3),
  };
}
