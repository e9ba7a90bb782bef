/**
 * The hot reads' plain SQL (src/data/hot-reads.ts, DB_HOT_READS=sql) gives exactly what the Prisma
 * path gives: each read runs both ways on the same rows and the results are deeply equal (revoked
 * and completed enrolments, courses nobody took, empty and unknown id lists, next pages by cursor).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '@coursegraph/service-kit';
import { contextDatabaseUrl } from '@coursegraph/test-support';
import { createDatabase } from '../src/data/db.js';
import { createLoaders } from '../src/data/loaders.js';
import { enrollmentsOf } from '../src/resolvers/connection.js';
import { startEnrollment, type EnrollmentHarness } from './harness.js';

const ENROL = `mutation($c: ID!) { enrol(courseId: $c) { id } }`;
const COMPLETE = `mutation($c: ID!, $l: ID!) { completeLesson(courseId: $c, lessonId: $l) { id } }`;
const UNENROL = `mutation($c: ID!) { unenrol(courseId: $c) { status } }`;

let h: EnrollmentHarness;
let both: ReturnType<typeof createDatabase>;
const courses: { courseId: string; lessonIds: string[] }[] = [];
const learners: { token: string; userId: string }[] = [];
const enrollmentIds: string[] = [];

beforeAll(async () => {
  h = await startEnrollment();
  both = createDatabase(contextDatabaseUrl('enrollment'), { poolSize: 2, hotReads: 'sql' });
  // Three courses: one with required lessons, one without, one nobody takes.
  courses.push(await h.course({ lessons: 3, required: [0, 2] }), await h.course({ lessons: 1 }), await h.course());
  for (let i = 0; i < 3; i++) learners.push(await h.issuer.token());
  const gql = async (query: string, variables: Record<string, unknown>, token: string) => {
    const res = await h.gql(query, variables, token);
    if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
    return res.body.data as any;
  };
  // Learner 0 takes both courses and completes lessons (one course entirely); learner 1 leaves the first.
  for (const c of courses.slice(0, 2))
    enrollmentIds.push((await gql(ENROL, { c: c.courseId }, learners[0]!.token)).enrol.id);
  for (const l of [...courses[0]!.lessonIds.slice(0, 2), ...courses[1]!.lessonIds])
    await gql(
      COMPLETE,
      { c: l === courses[1]!.lessonIds[0] ? courses[1]!.courseId : courses[0]!.courseId, l },
      learners[0]!.token,
    );
  enrollmentIds.push((await gql(ENROL, { c: courses[0]!.courseId }, learners[1]!.token)).enrol.id);
  await gql(UNENROL, { c: courses[0]!.courseId }, learners[1]!.token);
});

afterAll(async () => {
  await both?.db.$disconnect();
  await h?.close();
});

const viaSql = () => createLoaders(both.db, both.sql, null);
const viaPrisma = () => createLoaders(both.db, null, null);

describe('enrolment counts', () => {
  it('count active and completed enrolments, not revoked ones; 0 for a course nobody took or an unknown one', async () => {
    const ids = [...courses.map((c) => c.courseId), randomUUID()];
    const counts = await viaSql().enrollmentCount.loadMany(ids);
    expect(counts).toStrictEqual(await viaPrisma().enrollmentCount.loadMany(ids));
    expect(counts).toStrictEqual([1, 1, 0, 0]);
  });

  it('answer entity references in one batch; a malformed id is no course, and fails nothing else', async () => {
    const res = await h.gql(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Course { enrollmentCount } } }`,
      {
        r: [
          { __typename: 'Course', id: "x' or 1=1 --" },
          { __typename: 'Course', id: courses[0]!.courseId },
        ],
      },
    );
    expect(res.body).toStrictEqual({ data: { _entities: [{ enrollmentCount: 0 }, { enrollmentCount: 1 }] } });
  });
});

describe("a learner's enrolments", () => {
  it('are the same page both ways, newest first, page after page, with the same total', async () => {
    const userId = learners[0]!.userId;
    for (const first of [1, 2, 10]) {
      let after: string | null = null;
      for (let n = 0; n < 5; n++) {
        const s = await enrollmentsOf(both.db, both.sql, userId, first, after);
        expect(s).toStrictEqual(await enrollmentsOf(both.db, null, userId, first, after));
        expect(s.totalCount).toBe(2);
        if (!s.pageInfo.hasNextPage) break;
        after = s.pageInfo.endCursor;
      }
    }
  });

  it('are the same for a revoked enrolment and for a user with none', async () => {
    for (const userId of [learners[1]!.userId, learners[2]!.userId, randomUUID()])
      expect(await enrollmentsOf(both.db, both.sql, userId, 5, null)).toStrictEqual(
        await enrollmentsOf(both.db, null, userId, 5, null),
      );
    const revoked = await enrollmentsOf(both.db, both.sql, learners[1]!.userId, 5, null);
    expect(revoked.edges[0]!.node).toMatchObject({ status: 'REVOKED', revokeReason: 'UNENROLLED' });
    expect(revoked.edges[0]!.node.revokedAt).toBeInstanceOf(Date);
  });

  it('refuse a cursor whose id is not a uuid before any SQL', async () => {
    const cursor = encodeCursor('1; drop table enrollments');
    await expect(enrollmentsOf(both.db, both.sql, learners[0]!.userId, 5, cursor)).rejects.toThrow(/not a cursor/);
  });
});

describe('progress', () => {
  it('reads the same completed and required lessons, in completion order; none for unknown ids', async () => {
    const ids = [...enrollmentIds, randomUUID()];
    const done = await viaSql().completedLessons.loadMany(ids);
    expect(done).toStrictEqual(await viaPrisma().completedLessons.loadMany(ids));
    expect(done[0]).toStrictEqual(courses[0]!.lessonIds.slice(0, 2));
    expect(done.at(-1)).toStrictEqual([]);
    const courseIds = [...courses.map((c) => c.courseId), randomUUID()];
    const required = await viaSql().requiredLessons.loadMany(courseIds);
    expect(required).toStrictEqual(await viaPrisma().requiredLessons.loadMany(courseIds));
    expect(required[0]).toStrictEqual([courses[0]!.lessonIds[0], courses[0]!.lessonIds[2]]);
    expect(required.at(-1)).toStrictEqual([]);
  });
});
