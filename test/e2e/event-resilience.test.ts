/**
 * Failure in the middle of the saga: NATS away during checkout, and the enrollment consumer killed
 * in the middle of a batch. The platform runs on a NATS server of this test's own, so stopping it
 * does not disturb other suites. "Exactly once" is checked in enrollment's own data: one
 * enrollment and one enrollment.created event per purchase.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import {
  CHECKOUT,
  checkoutWhenPurchasable,
  contextDatabaseUrl,
  type E2E,
  eventually,
  type Gql,
  person,
  type Person,
  privateNats,
  type PrivateNats,
  publishCourse,
  type PublishedCourse,
  SANDBOX_CARDS,
  startE2E,
  VIEWER_ENROLLMENT,
} from '@coursegraph/test-support';

let nats: PrivateNats;
let e2e: E2E;
let gql: Gql;
let instructor: Person;
let course: PublishedCourse;
let enrollmentDb: pg.Client;

const activeEnrollment = async (learner: Person) =>
  (await gql(VIEWER_ENROLLMENT, { c: course.courseId }, learner.token)).body.data?.course?.viewerEnrollment?.status ===
  'ACTIVE';

/** Enrollment rows and enrollment.created outbox events for a learner: both must be exactly 1. */
async function effects(userId: string) {
  const rows = await enrollmentDb.query(
    'select count(*)::int as n from enrollments where user_id = $1 and course_id = $2',
    [userId, course.courseId],
  );
  const events = await enrollmentDb.query(
    `select count(*)::int as n from outbox_events where subject = 'enrollment.enrollment.created' and position($1::bytea in payload) > 0`,
    [Buffer.from(userId)],
  );
  return { enrollments: rows.rows[0].n, createdEvents: events.rows[0].n };
}

beforeAll(async () => {
  nats = await privateNats();
  await nats.start();
  e2e = await startE2E('resilience', { nats });
  gql = e2e.gql;
  instructor = await person(e2e, 'INSTRUCTOR');
  course = await publishCourse(gql, instructor, { priceMinor: 3900 });
  await checkoutWhenPurchasable(gql, await person(e2e), course.courseId, SANDBOX_CARDS.declined);
  enrollmentDb = new pg.Client({ connectionString: contextDatabaseUrl('enrollment', e2e.database) });
  await enrollmentDb.connect();
});

afterAll(async () => {
  await enrollmentDb?.end();
  await e2e?.platform.stop();
  await nats?.dispose();
});

describe('event delivery under failure', () => {
  it(
    'NATS stopped during checkout and restarted later: the enrollment appears, exactly once',
    { timeout: 120_000 },
    async () => {
      const learner = await person(e2e);
      await nats.stop();
      try {
        const res = await gql(
          CHECKOUT,
          {
            i: { courseId: course.courseId, idempotencyKey: crypto.randomUUID(), paymentMethod: SANDBOX_CARDS.success },
          },
          learner.token,
        );
        // The purchase itself does not need NATS: it is committed with its event in payment's outbox.
        expect(res.body.data!.checkout.order.status).toBe('PAID');
        expect(await activeEnrollment(learner)).toBe(false);
      } finally {
        await nats.start();
      }
      await eventually('the enrollment after NATS is back', () => activeEnrollment(learner), { timeoutMs: 60_000 });
      expect(await effects(learner.userId)).toEqual({ enrollments: 1, createdEvents: 1 });
    },
  );

  it(
    'the enrollment consumer killed in the middle of a batch and restarted: no duplicated effect',
    { timeout: 180_000 },
    async () => {
      const learners = await Promise.all(Array.from({ length: 12 }, () => person(e2e)));
      // Hold the consumer's work back while the batch piles up, then let it start and kill it mid-way.
      await e2e.platform.kill('enrollment');
      for (const learner of learners) {
        const res = await gql(
          CHECKOUT,
          {
            i: { courseId: course.courseId, idempotencyKey: crypto.randomUUID(), paymentMethod: SANDBOX_CARDS.success },
          },
          learner.token,
        );
        expect(res.body.data?.checkout.order.status).toBe('PAID');
      }
      await e2e.platform.restart('enrollment');
      // Poll tightly so the kill lands while the batch is being applied.
      const deadline = Date.now() + 60_000;
      let applied = 0;
      while (applied === 0 && Date.now() < deadline) {
        const { rows } = await enrollmentDb.query(
          'select count(*)::int as n from enrollments where course_id = $1 and user_id = any($2::uuid[])',
          [course.courseId, learners.map((l) => l.userId)],
        );
        applied = rows[0].n;
      }
      expect(applied).toBeGreaterThan(0);
      await e2e.platform.restart('enrollment', { signal: 'SIGKILL' });
      for (const learner of learners) {
        await eventually(`enrollment of ${learner.email}`, () => activeEnrollment(learner), { timeoutMs: 60_000 });
        expect(await effects(learner.userId)).toEqual({ enrollments: 1, createdEvents: 1 });
      }
    },
  );
});
