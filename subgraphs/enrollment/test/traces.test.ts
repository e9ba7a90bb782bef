/**
 * The events a learner's request causes (enrol, complete, unenrol) carry the caller's traceparent;
 * a malformed traceparent is ignored: the event starts a trace of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBinary } from '@bufbuild/protobuf';
import { EnrollmentEvents } from '@coursegraph/contracts';
import { isTraceparent, newTraceparent } from '@coursegraph/service-kit';
import { startEnrollment, type EnrollmentHarness } from './harness.js';

let h: EnrollmentHarness;
beforeAll(async () => {
  h = await startEnrollment();
});
afterAll(async () => {
  await h.close();
});

/** POSTs an operation with a traceparent header; fails the test on any error. */
async function traced(query: string, variables: Record<string, unknown>, traceparent: string, token: string) {
  const res = await h.app.yoga.fetch('http://enrollment.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent, authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(`unexpected errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** The subjects of the outbox events written on this trace, sorted. */
async function subjectsOn(traceparent: string) {
  const rows = await h.app.db.outboxEvent.findMany({ where: { traceparent }, select: { subject: true } });
  return rows.map((r) => r.subject).sort();
}

const ENROL = `mutation($c: ID!) { enrol(courseId: $c) { status } }`;
const COMPLETE = `mutation($c: ID!, $l: ID!) { completeLesson(courseId: $c, lessonId: $l) { status } }`;
const UNENROL = `mutation($c: ID!) { unenrol(courseId: $c) { status } }`;

describe('traces', () => {
  it("carries the caller's traceparent into the events of enrolling, completing and unenrolling", async () => {
    const { courseId, lessonIds } = await h.course({ lessons: 1, required: [0] });
    const { token } = await h.issuer.token();

    const enrolTrace = newTraceparent();
    await traced(ENROL, { c: courseId }, enrolTrace, token);
    expect(await subjectsOn(enrolTrace)).toEqual([EnrollmentEvents.created.subject]);

    const completeTrace = newTraceparent();
    expect((await traced(COMPLETE, { c: courseId, l: lessonIds[0] }, completeTrace, token)).completeLesson.status).toBe(
      'COMPLETED',
    );
    expect(await subjectsOn(completeTrace)).toEqual(
      [
        EnrollmentEvents.lessonCompleted.subject,
        EnrollmentEvents.certificateIssued.subject,
        EnrollmentEvents.courseCompleted.subject,
      ].sort(),
    );

    const unenrolTrace = newTraceparent();
    await traced(UNENROL, { c: courseId }, unenrolTrace, token);
    expect(await subjectsOn(unenrolTrace)).toEqual([EnrollmentEvents.revoked.subject]);
  });

  it('ignores a malformed traceparent: the enrolment succeeds and its event starts a trace of its own', async () => {
    const { courseId } = await h.course();
    const { token } = await h.issuer.token();
    const malformed = 'not-a-traceparent';
    expect((await traced(ENROL, { c: courseId }, malformed, token)).enrol.status).toBe('ACTIVE');
    const rows = await h.app.db.outboxEvent.findMany({
      where: { subject: EnrollmentEvents.created.subject },
      orderBy: { id: 'desc' },
      take: 500,
    });
    const created = rows.filter((r) => fromBinary(EnrollmentEvents.created.schema, r.payload).courseId === courseId);
    expect(created).toHaveLength(1);
    expect(isTraceparent(created[0]!.traceparent)).toBe(true);
    expect(await h.app.db.outboxEvent.count({ where: { traceparent: malformed } })).toBe(0);
  });
});
