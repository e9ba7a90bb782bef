/**
 * The gateway's response cache through the whole platform (GATEWAY_RESPONSE_CACHE=on, a time to
 * live far longer than the test, so only events can refresh an answer): anonymous catalogue reads
 * are served from the cache, signed-in ones never are, and the platform's own events (an enrolment,
 * a publication) drop exactly the answers they change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type E2E,
  eventually,
  person,
  type Person,
  publishCourse,
  type PublishedCourse,
  startE2E,
} from '@coursegraph/test-support';

let e2e: E2E;
let instructor: Person;
let learner: Person;
let first: PublishedCourse;

const CATALOG = `query Catalog($first: Int!) { catalog(first: $first) { totalCount edges { node { id title enrollmentCount instructor { id name } } } } }`;
const COURSE_PAGE = `query CoursePage($id: ID!) { course(id: $id) { id title lessonCount enrollmentCount } }`;

interface Answer {
  cache: string | null;
  body: { data?: any; errors?: unknown[] };
}

async function ask(query: string, variables: Record<string, unknown>, token?: string): Promise<Answer> {
  const res = await fetch(e2e.endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { cache: res.headers.get('x-cache'), body: await res.json() };
}

const catalog = () => ask(CATALOG, { first: 50 });
const inCatalog = (answer: Answer, courseId: string) =>
  answer.body.data.catalog.edges.find((e: any) => e.node.id === courseId)?.node;

beforeAll(async () => {
  e2e = await startE2E('response_cache', {
    env: { GATEWAY_RESPONSE_CACHE: 'on', GATEWAY_RESPONSE_CACHE_TTL_MS: String(10 * 60_000), GATEWAY_WORKERS: '1' },
  });
  instructor = await person(e2e, 'INSTRUCTOR');
  learner = await person(e2e);
  first = await publishCourse(e2e.gql, instructor);
  // The publication's own event must have passed before the answers the tests compare are cached.
  await eventually('the course in the catalogue', async () => inCatalog(await catalog(), first.courseId));
}, 180_000);

afterAll(async () => {
  await e2e?.platform.stop();
});

describe('response cache', () => {
  it('answers a repeated anonymous query from the cache, and a signed-in one never', async () => {
    const before = await catalog();
    const again = await catalog();
    expect(again.cache).toBe('HIT');
    expect(again.body).toEqual(before.body);
    expect(inCatalog(again, first.courseId)).toMatchObject({
      title: first.title,
      enrollmentCount: 0,
      instructor: { id: instructor.userId },
    });
    const signedIn = await ask(CATALOG, { first: 50 }, learner.token);
    expect(signedIn.cache).toBe('BYPASS');
    expect(signedIn.body.data).toEqual(before.body.data);
  });

  it('an enrolment drops the answers holding its course, not the others', async () => {
    const other = await publishCourse(e2e.gql, instructor);
    await eventually('the second course in the catalogue', async () => inCatalog(await catalog(), other.courseId));
    await ask(COURSE_PAGE, { id: other.courseId });
    expect((await ask(COURSE_PAGE, { id: other.courseId })).cache).toBe('HIT');
    expect(inCatalog(await catalog(), first.courseId).enrollmentCount).toBe(0);

    const enrol = await e2e.gql(
      `mutation($c: ID!) { enrol(courseId: $c) { id status } }`,
      { c: first.courseId },
      learner.token,
    );
    expect(enrol.body.errors).toBeUndefined();
    const fresh = await eventually('the new enrolment count', async () => {
      const answer = await catalog();
      return inCatalog(answer, first.courseId).enrollmentCount === 1 && answer;
    });
    expect(fresh.cache).toBe('MISS');
    // The other course's page holds nothing the enrolment changed: still served from the cache.
    const page = await ask(COURSE_PAGE, { id: other.courseId });
    expect(page.cache).toBe('HIT');
    expect(page.body.data.course).toMatchObject({ id: other.courseId, enrollmentCount: 0 });
  });

  it('a publication drops the catalogue, so the new course appears', async () => {
    const before = await catalog();
    expect((await catalog()).cache).toBe('HIT');
    const third = await publishCourse(e2e.gql, instructor, { lessons: 3 });
    const after = await eventually('the third course in the catalogue', async () => {
      const answer = await catalog();
      return inCatalog(answer, third.courseId) && answer;
    });
    expect(after.body.data.catalog.totalCount).toBe(before.body.data.catalog.totalCount + 1);
    expect((await ask(COURSE_PAGE, { id: third.courseId })).body.data.course).toMatchObject({
      title: third.title,
      lessonCount: 3,
    });
  });
});
