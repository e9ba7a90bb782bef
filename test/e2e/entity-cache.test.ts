/**
 * The gateway's entity cache through the whole platform (GATEWAY_ENTITY_CACHE=on, Redis shared):
 * a signed-in learner's dashboard (LearnerNetwork, the benchmark's `deep`) is answered the same from
 * the cache as from the subgraphs, its public entity fields are served from Redis on the next read,
 * and once the events of a change are applied no answer shows the old value: a course retitled and
 * republished by its instructor, a new enrolment (enrollmentCount). Private fields (the learner's
 * progress) always come from the subgraph.
 */
import fs from 'node:fs';
import path from 'node:path';
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

const LEARNER_NETWORK = fs.readFileSync(
  path.resolve(import.meta.dirname, '../../schema/operations/learner-network.graphql'),
  'utf8',
);

let e2e: E2E;
let instructor: Person;
let learner: Person;
let course: PublishedCourse;
let other: PublishedCourse;

async function dashboard(token = learner.token): Promise<any> {
  const res = await e2e.gql(LEARNER_NETWORK, {}, token);
  expect(res.body.errors).toBeUndefined();
  return res.body.data.me;
}

/** Entities served from the cache so far, per result (the gateway's /metrics). */
async function entityCacheCounts(): Promise<Record<string, number>> {
  const text = await (await fetch(new URL('/metrics', e2e.endpoint))).text();
  const counts: Record<string, number> = { hit: 0, miss: 0, bypass: 0 };
  for (const line of text.split('\n')) {
    const match = /^coursegraph_entity_cache_requests_total\{[^}]*result="(\w+)"[^}]*\} (\d+)/.exec(line);
    if (match) counts[match[1]!] = (counts[match[1]!] ?? 0) + Number(match[2]);
  }
  return counts;
}

const enrolledCourse = (me: any, courseId: string) =>
  me.enrollments.edges.map((e: any) => e.node).find((n: any) => n.course.id === courseId);

beforeAll(async () => {
  e2e = await startE2E('entity_cache', { env: { GATEWAY_ENTITY_CACHE: 'on', GATEWAY_WORKERS: '1' } });
  instructor = await person(e2e, 'INSTRUCTOR');
  learner = await person(e2e);
  other = await publishCourse(e2e.gql, instructor);
  course = await publishCourse(e2e.gql, instructor, { lessons: 2 });
  const enrol = await e2e.gql(
    `mutation($c: ID!) { enrol(courseId: $c) { id } }`,
    { c: course.courseId },
    learner.token,
  );
  expect(enrol.body.errors).toBeUndefined();
}, 180_000);

afterAll(async () => {
  await e2e?.platform.stop();
});

describe('entity cache', () => {
  it("serves a learner's dashboard with the subgraphs' own answer, the second time from the cache", async () => {
    // The enrolment's own event drops what the first reads keep: read until it has passed.
    const first = await eventually('the enrolment counted', async () => {
      const me = await dashboard();
      return enrolledCourse(me, course.courseId)?.course.enrollmentCount === 1 && me;
    });
    expect(enrolledCourse(first, course.courseId).course).toMatchObject({
      id: course.courseId,
      title: course.title,
      enrollmentCount: 1,
      instructor: { id: instructor.userId, name: instructor.name, taughtCourses: { totalCount: 2 } },
    });
    const before = await entityCacheCounts();
    const second = await dashboard();
    const after = await entityCacheCounts();
    expect(second).toEqual(first);
    // Course fields, the instructor's name and taught courses, the enrolment counts: from Redis.
    expect(after.hit).toBeGreaterThan(before.hit);
    expect(after.miss).toBe(before.miss);
    // The learner's own enrolments are private: never served from the cache.
    expect(after.bypass).toBeGreaterThan(before.bypass);
  });

  it('after a course is retitled and republished, no answer shows the old title once the event is applied', async () => {
    await dashboard();
    const newTitle = `${course.title} (second edition)`;
    const update = await e2e.gql(
      'mutation($i: UpdateCourseInput!) { updateCourse(input: $i) { id } }',
      { i: { courseId: course.courseId, title: newTitle } },
      instructor.token,
    );
    expect(update.body.errors).toBeUndefined();
    const republish = await e2e.gql(
      `mutation($c: ID!) { publishCourse(courseId: $c) { id title } }`,
      { c: course.courseId },
      instructor.token,
    );
    expect(republish.body.data?.publishCourse.title).toBe(newTitle);
    await eventually(
      'the new title',
      async () => enrolledCourse(await dashboard(), course.courseId).course.title === newTitle,
    );
    for (let i = 0; i < 5; i++) {
      const me = await dashboard();
      expect(enrolledCourse(me, course.courseId).course.title).toBe(newTitle);
      // The same course in the instructor's taught courses, from another cached entity (User.taughtCourses).
      const taught = enrolledCourse(me, course.courseId).course.instructor.taughtCourses.edges.map((e: any) => e.node);
      expect(taught.find((n: any) => n.id === course.courseId).title).toBe(newTitle);
    }
  });

  it('after another learner enrols, no answer shows the old count once the event is applied', async () => {
    expect(enrolledCourse(await dashboard(), course.courseId).course.enrollmentCount).toBe(1);
    const second = await person(e2e);
    const enrol = await e2e.gql(
      `mutation($c: ID!) { enrol(courseId: $c) { id } }`,
      { c: course.courseId },
      second.token,
    );
    expect(enrol.body.errors).toBeUndefined();
    await eventually(
      'the new count',
      async () => enrolledCourse(await dashboard(), course.courseId).course.enrollmentCount === 2,
    );
    for (let i = 0; i < 5; i++)
      expect(enrolledCourse(await dashboard(), course.courseId).course.enrollmentCount).toBe(2);
    // The other course's count did not change and is still served.
    const other_ = await e2e.gql(
      `query($c: ID!) { course(id: $c) { enrollmentCount } }`,
      { c: other.courseId },
      learner.token,
    );
    expect(other_.body.data.course.enrollmentCount).toBe(0);
  });

  it("a private field is never served from the cache: the learner's progress shows at once", async () => {
    const before = enrolledCourse(await dashboard(), course.courseId);
    expect(before.progress.completedRequired).toBe(0);
    const done = await e2e.gql(
      `mutation($c: ID!, $l: ID!) { completeLesson(courseId: $c, lessonId: $l) { id } }`,
      { c: course.courseId, l: course.lessonIds[0] },
      learner.token,
    );
    expect(done.body.errors).toBeUndefined();
    const after = enrolledCourse(await dashboard(), course.courseId);
    expect(after.progress.completedRequired).toBe(1);
    expect(after.progress.percent).toBeGreaterThan(0);
  });
});
