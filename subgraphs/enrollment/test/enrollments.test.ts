import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { EnrollmentEvents } from '@coursegraph/contracts';
import { errorCode } from '@coursegraph/test-support';
import { grantPaidAccess, revokeRefundedAccess } from '../src/domain/enrollments.js';
import { startEnrollment, type EnrollmentHarness } from './harness.js';

const ENROL = `mutation($c: ID!, $m: EnrollmentMode) { enrol(courseId: $c, mode: $m) { id mode status course { id } user { id } } }`;
const COMPLETE = `mutation($c: ID!, $l: ID!) { completeLesson(courseId: $c, lessonId: $l) {
  id status completedAt progress { completedRequired requiredTotal percent completedLessonIds } certificate { publicId courseTitle } } }`;
const UNENROL = `mutation($c: ID!) { unenrol(courseId: $c) { status revokeReason } }`;

let h: EnrollmentHarness;
beforeAll(async () => {
  h = await startEnrollment();
});
afterAll(async () => {
  await h.close();
});

const enrollmentRows = (userId: string) => h.app.db.enrollment.count({ where: { userId } });

describe('enrol', () => {
  it('enrols a learner in a free course and announces it', async () => {
    const { courseId } = await h.course();
    const { token, userId } = await h.issuer.token();
    const res = await h.gql(ENROL, { c: courseId }, token);
    expect(res.body.data!.enrol).toMatchObject({
      mode: 'FREE',
      status: 'ACTIVE',
      course: { id: courseId },
      user: { id: userId },
    });
    const events = await h.outbox(EnrollmentEvents.created, (p) => p.userId === userId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ courseId, enrollmentId: res.body.data!.enrol.id });
  });

  it('refuses FREE for a paid course but allows AUDIT', async () => {
    const { courseId } = await h.course({ price: 4900 });
    const { token, userId } = await h.issuer.token();
    const free = await h.gql(ENROL, { c: courseId }, token);
    expect(errorCode(free)).toBe('BAD_USER_INPUT');
    expect(free.body.errors![0]!.message).toMatch(/check out/);
    expect(await enrollmentRows(userId)).toBe(0);
    expect(errorCode(await h.gql(ENROL, { c: courseId, m: 'PAID' }, token))).toBe('BAD_USER_INPUT');
    expect((await h.gql(ENROL, { c: courseId, m: 'AUDIT' }, token)).body.data!.enrol.mode).toBe('AUDIT');
  });

  it('refuses a second enrolment with CONFLICT, and concurrent ones leave one row', async () => {
    const { courseId } = await h.course();
    const { token, userId } = await h.issuer.token();
    const results = await Promise.all([h.gql(ENROL, { c: courseId }, token), h.gql(ENROL, { c: courseId }, token)]);
    expect(results.filter((r) => r.body.data?.enrol).length).toBe(1);
    expect(results.map(errorCode).filter(Boolean)).toEqual(['CONFLICT']);
    expect(await enrollmentRows(userId)).toBe(1);
  });

  it('enforces prerequisites until they are completed', async () => {
    const basics = await h.course({ lessons: 1 });
    const advanced = await h.course({ prerequisites: [basics.courseId] });
    const { token, userId } = await h.issuer.token();
    const early = await h.gql(ENROL, { c: advanced.courseId }, token);
    expect(errorCode(early)).toBe('BAD_USER_INPUT');
    expect(early.body.errors![0]!.message).toContain(basics.courseId);
    expect(await enrollmentRows(userId)).toBe(0);
    await h.gql(ENROL, { c: basics.courseId }, token);
    await h.gql(COMPLETE, { c: basics.courseId, l: basics.lessonIds[0] }, token);
    expect((await h.gql(ENROL, { c: advanced.courseId }, token)).body.data!.enrol.status).toBe('ACTIVE');
  });

  it('refuses unknown courses, bad ids and anonymous callers', async () => {
    const { token } = await h.issuer.token();
    expect(errorCode(await h.gql(ENROL, { c: randomUUID() }, token))).toBe('NOT_FOUND');
    expect(errorCode(await h.gql(ENROL, { c: 'not-an-id' }, token))).toBe('BAD_USER_INPUT');
    const { courseId } = await h.course();
    expect(errorCode(await h.gql(ENROL, { c: courseId }))).toBe('UNAUTHENTICATED');
  });
});

describe('progress and completion', () => {
  it('completes the course when every required lesson is done, and issues a verifiable certificate', async () => {
    const { courseId, lessonIds } = await h.course({ lessons: 3, required: [0, 2] });
    const { token, userId } = await h.issuer.token();
    await h.gql(ENROL, { c: courseId }, token);
    const first = (await h.gql(COMPLETE, { c: courseId, l: lessonIds[0] }, token)).body.data!.completeLesson;
    expect(first).toMatchObject({
      status: 'ACTIVE',
      progress: { completedRequired: 1, requiredTotal: 2, percent: 50 },
      certificate: null,
    });
    // The optional lesson does not count towards completion.
    expect((await h.gql(COMPLETE, { c: courseId, l: lessonIds[1] }, token)).body.data!.completeLesson.status).toBe(
      'ACTIVE',
    );
    const done = (await h.gql(COMPLETE, { c: courseId, l: lessonIds[2] }, token)).body.data!.completeLesson;
    expect(done.status).toBe('COMPLETED');
    expect(done.progress.percent).toBe(100);
    expect(done.certificate.publicId).toMatch(/^CG(-[A-Z2-9]{4}){5}$/);

    expect(await h.outbox(EnrollmentEvents.courseCompleted, (p) => p.userId === userId)).toHaveLength(1);
    expect(await h.outbox(EnrollmentEvents.certificateIssued, (p) => p.userId === userId)).toHaveLength(1);

    // Anyone can verify the certificate by its public id.
    const verified = await h.gql(
      `query($p: String!) { certificate(publicId: $p) { courseTitle holder { id } course { id } } }`,
      { p: done.certificate.publicId },
    );
    expect(verified.body.data!.certificate).toMatchObject({ holder: { id: userId }, course: { id: courseId } });
    const forged = await h.gql(`query($p: String!) { certificate(publicId: $p) { courseTitle } }`, {
      p: 'CG-AAAA-AAAA-AAAA-AAAA-AAAA',
    });
    expect(forged.body.data!.certificate).toBeNull();

    // Marking a lesson again completes nothing twice.
    await h.gql(COMPLETE, { c: courseId, l: lessonIds[2] }, token);
    expect(await h.outbox(EnrollmentEvents.courseCompleted, (p) => p.userId === userId)).toHaveLength(1);
  });

  it('an audit completes without a certificate', async () => {
    const { courseId, lessonIds } = await h.course({ price: 1900, lessons: 1 });
    const { token } = await h.issuer.token();
    await h.gql(ENROL, { c: courseId, m: 'AUDIT' }, token);
    const done = (await h.gql(COMPLETE, { c: courseId, l: lessonIds[0] }, token)).body.data!.completeLesson;
    expect(done).toMatchObject({ status: 'COMPLETED', certificate: null });
  });

  it('refuses a lesson of another course, and learners who are not enrolled', async () => {
    const a = await h.course();
    const b = await h.course();
    const { token, userId } = await h.issuer.token();
    expect(errorCode(await h.gql(COMPLETE, { c: a.courseId, l: a.lessonIds[0] }, token))).toBe('BAD_USER_INPUT');
    await h.gql(ENROL, { c: a.courseId }, token);
    const wrong = await h.gql(COMPLETE, { c: a.courseId, l: b.lessonIds[0] }, token);
    expect(errorCode(wrong)).toBe('BAD_USER_INPUT');
    expect(wrong.body.errors![0]!.extensions!.field).toBe('lessonId');
    expect(await h.app.db.lessonProgress.count({ where: { userId } })).toBe(0);
  });
});

describe('unenrol', () => {
  it('revokes access, announces it, and allows enrolling again', async () => {
    const { courseId } = await h.course();
    const { token, userId } = await h.issuer.token();
    await h.gql(ENROL, { c: courseId }, token);
    expect((await h.gql(UNENROL, { c: courseId }, token)).body.data!.unenrol).toEqual({
      status: 'REVOKED',
      revokeReason: 'UNENROLLED',
    });
    expect(await h.outbox(EnrollmentEvents.revoked, (p) => p.userId === userId)).toHaveLength(1);
    expect(errorCode(await h.gql(UNENROL, { c: courseId }, token))).toBe('BAD_USER_INPUT');
    expect((await h.gql(ENROL, { c: courseId }, token)).body.data!.enrol.status).toBe('ACTIVE');
  });
});

describe('the purchase saga, enrollment side', () => {
  it('grants PAID access once per order', async () => {
    const { courseId } = await h.course({ price: 9900 });
    const userId = randomUUID();
    const orderId = randomUUID();
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    expect(await h.app.db.$transaction((tx) => grantPaidAccess(tx, { orderId, userId, courseId }, tp))).toBe(
      'enrolled',
    );
    expect(await h.app.db.$transaction((tx) => grantPaidAccess(tx, { orderId, userId, courseId }, tp))).toBe('already');
    const rows = await h.app.db.enrollment.findMany({ where: { userId } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ mode: 'PAID', status: 'ACTIVE', orderId });
  });

  it('upgrades an audit to PAID, keeping progress', async () => {
    const { courseId, lessonIds } = await h.course({ price: 9900, lessons: 2 });
    const { token, userId } = await h.issuer.token();
    await h.gql(ENROL, { c: courseId, m: 'AUDIT' }, token);
    await h.gql(COMPLETE, { c: courseId, l: lessonIds[0] }, token);
    await h.app.db.$transaction((tx) =>
      grantPaidAccess(
        tx,
        { orderId: randomUUID(), userId, courseId },
        '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      ),
    );
    const upgraded = await h.gql(
      `{ myEnrollments { edges { node { mode progress { completedRequired } } } } }`,
      {},
      token,
    );
    expect(upgraded.body.data!.myEnrollments.edges[0].node).toEqual({
      mode: 'PAID',
      progress: { completedRequired: 1 },
    });
  });

  it('rejects the order when a prerequisite is missing, so payment can refund it', async () => {
    const basics = await h.course();
    const advanced = await h.course({ price: 9900, prerequisites: [basics.courseId] });
    const userId = randomUUID();
    const orderId = randomUUID();
    const outcome = await h.app.db.$transaction((tx) =>
      grantPaidAccess(
        tx,
        { orderId, userId, courseId: advanced.courseId },
        '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      ),
    );
    expect(outcome).toBe('rejected');
    expect(await enrollmentRows(userId)).toBe(0);
    const rejected = await h.outbox(EnrollmentEvents.rejected, (p) => p.orderId === orderId);
    expect(rejected[0].reason).toMatch(/PREREQUISITES_MISSING/);
  });

  it('waits (fails, to be retried) when the course is not yet known', async () => {
    await expect(
      h.app.db.$transaction((tx) =>
        grantPaidAccess(
          tx,
          { orderId: randomUUID(), userId: randomUUID(), courseId: randomUUID() },
          '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        ),
      ),
    ).rejects.toThrow(/not yet known/);
  });

  it('a full refund revokes the access that order bought', async () => {
    const { courseId } = await h.course({ price: 9900 });
    const userId = randomUUID();
    const orderId = randomUUID();
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await h.app.db.$transaction((tx) => grantPaidAccess(tx, { orderId, userId, courseId }, tp));
    expect(await h.app.db.$transaction((tx) => revokeRefundedAccess(tx, { orderId, userId }, tp))).toBe(true);
    expect((await h.app.db.enrollment.findFirstOrThrow({ where: { userId } })).status).toBe('REVOKED');
    expect(await h.app.db.$transaction((tx) => revokeRefundedAccess(tx, { orderId, userId }, tp))).toBe(false);
  });
});

describe('entities', () => {
  it('adds enrollmentCount and viewerEnrollment to Course, batched', async () => {
    const { courseId } = await h.course();
    const other = await h.course();
    const learners = await Promise.all([h.issuer.token(), h.issuer.token(), h.issuer.token()]);
    for (const l of learners) await h.gql(ENROL, { c: courseId }, l.token);
    await h.gql(UNENROL, { c: courseId }, learners[2]!.token);
    const res = await h.gql(
      `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Course { id enrollmentCount viewerEnrollment { status } } } }`,
      {
        reps: [
          { __typename: 'Course', id: courseId },
          { __typename: 'Course', id: other.courseId },
        ],
      },
      learners[0]!.token,
    );
    expect(res.body.data!._entities).toEqual([
      { id: courseId, enrollmentCount: 2, viewerEnrollment: { status: 'ACTIVE' } },
      { id: other.courseId, enrollmentCount: 0, viewerEnrollment: null },
    ]);
  });

  it("shows a user's enrollments only to them and to admins", async () => {
    const { courseId } = await h.course();
    const owner = await h.issuer.token();
    await h.gql(ENROL, { c: courseId }, owner.token);
    const q = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { enrollments { totalCount } } } }`;
    const reps = { reps: [{ __typename: 'User', id: owner.userId }] };
    expect((await h.gql(q, reps, owner.token)).body.data!._entities[0].enrollments.totalCount).toBe(1);
    expect(errorCode(await h.gql(q, reps, (await h.issuer.token()).token))).toBe('FORBIDDEN');
    expect(
      (await h.gql(q, reps, (await h.issuer.token('ADMIN')).token)).body.data!._entities[0].enrollments.totalCount,
    ).toBe(1);
  });
});
