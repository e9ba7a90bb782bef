// The three workloads, their reference answers and the checks every answer under load goes through.
//   catalog   anonymous catalog page of 20 courses: course (titles, prices), identity (instructor
//             names), enrollment (counts): three subgraphs.
//   deep      a signed-in learner's dashboard, nested as deep as the public federation gateway
//             benchmark's query: me (identity) → enrollments (enrollment) → course (course) →
//             instructor (identity) → taughtCourses (course) → enrollmentCount (enrollment) →
//             instructor → taughtCourses …, plus me → orders (payment) → course → instructor → …
//   mutation  completeLesson by many signed-in learners, each request a different learner and lesson.
// References come from one gateway before any load; every gateway must give the same answers first.

import fs from 'node:fs';

/** A project operation (schema/operations/<file>.graphql): what the benchmark sends is what clients persist. */
const operation = (file) => fs.readFileSync(new URL(`../../../schema/operations/${file}`, import.meta.url), 'utf8');

export const CATALOG_QUERY = operation('catalog-page.graphql');
export const DEEP_QUERY = operation('learner-network.graphql');
export const MUTATION = operation('complete-lesson.graphql');

const LEARNER_STATE = `query LearnerState {
  me { id enrollments(first: 50) { edges { node { id status course { id title modules { lessons { id } } } progress { completedLessonIds } } } } orders(first: 1) { totalCount } }
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
 * Signs in demo learners (through `url`) and splits them: `deepLearners` read-only learners with
 * enrolments and orders for the deep query, and `mutationGroups` disjoint groups (one per gateway)
 * whose not-yet-completed lessons the mutation workload completes.
 */
export async function prepareLearners(url, { learners, deepLearners, mutationGroups, password }) {
  const emails = Array.from({ length: learners }, (_, i) => `learner${String(i + 1).padStart(4, '0')}@coursegraph.dev`);
  const people = await inBatches(emails, 8, async (email) => {
    const { logIn } = must(await gql(url, LOG_IN, { input: { email, password } }), `logIn ${email}`);
    const { me } = must(await gql(url, LEARNER_STATE, {}, logIn.accessToken), `state of ${email}`);
    return { email, token: logIn.accessToken, me };
  });
  // Learners with orders first (all four subgraphs have data to give), then others with enrolments.
  const enrolled = people.filter((p) => p.me.enrollments.edges.length > 0);
  const deep = [
    ...enrolled.filter((p) => p.me.orders.totalCount > 0),
    ...enrolled.filter((p) => p.me.orders.totalCount === 0),
  ].slice(0, deepLearners);
  if (deep.length < deepLearners)
    throw new Error(`only ${deep.length} learners with enrolments among the first ${learners}`);
  const deepSet = new Set(deep);
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
            .filter((l) => !n.progress.completedLessonIds.includes(l.id))
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
    deep: deep.map((p) => ({ email: p.email, token: p.token })),
    deepWithOrders: deep.filter((p) => p.me.orders.totalCount > 0).length,
    mutationGroups: groups.map(interleave),
    agreementItem: spare.items[0],
    signedIn: people.length,
  };
}

/** Reference answers (the `data` of each query, serialised) fetched before any load. */
export async function fetchReferences(url, learners, catalogPageSize) {
  const catalog = JSON.stringify(must(await gql(url, CATALOG_QUERY, { first: catalogPageSize }), 'catalog reference'));
  const deep = await inBatches(learners.deep, 8, async (p) =>
    JSON.stringify(must(await gql(url, DEEP_QUERY, {}, p.token), `deep reference for ${p.email}`)),
  );
  return { catalog, deep };
}

/**
 * Asserts that `url` answers exactly as the references (every deep learner, the catalog) and that
 * the agreement mutation's answer equals `mutationReference` when given. Returns the mutation answer.
 */
export async function assertSameResults(name, url, learners, references, catalogPageSize, mutationReference) {
  const catalog = JSON.stringify(must(await gql(url, CATALOG_QUERY, { first: catalogPageSize }), `${name} catalog`));
  if (catalog !== references.catalog) throw new Error(`${name}: the catalog differs from the reference`);
  await inBatches(learners.deep, 8, async (p) => {
    const deep = JSON.stringify(must(await gql(url, DEEP_QUERY, {}, p.token), `${name} deep ${p.email}`));
    if (deep !== references.deep[learners.deep.indexOf(p)])
      throw new Error(`${name}: the deep query for ${p.email} differs from the reference`);
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

/** The workload objects the load loop drives: `next(i)` → { body, headers, check }. */
export function workloads(learners, references, catalogPageSize, mutationGroup) {
  const catalogBody = JSON.stringify({ query: CATALOG_QUERY, variables: { first: catalogPageSize } });
  const catalogExact = `{"data":${references.catalog}}`;
  const catalogCheck = (status, text) =>
    judge(
      status,
      text,
      (data) => (JSON.stringify(data) === references.catalog ? null : 'wrong catalog answer'),
      catalogExact,
    );
  const deepRequests = learners.deep.map((p, i) => ({
    body: JSON.stringify({ query: DEEP_QUERY }),
    headers: { authorization: `Bearer ${p.token}` },
    check: (status, text) =>
      judge(
        status,
        text,
        (data) => (JSON.stringify(data) === references.deep[i] ? null : 'wrong deep answer'),
        `{"data":${references.deep[i]}}`,
      ),
  }));
  const mutationRequests = mutationGroup.map((item) => ({
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
  return {
    catalog: { next: () => ({ body: catalogBody, headers: {}, check: catalogCheck }) },
    deep: { next: (i) => deepRequests[i % deepRequests.length] },
    mutation: { next: (i) => mutationRequests[i % mutationRequests.length], items: mutationRequests.length },
  };
}
