import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { course as courseEvents } from '@coursegraph/contracts';
import { createLogger, newId } from '@coursegraph/service-kit';
import { errorCode } from '@coursegraph/test-support';
import { applyCourseSnapshot, consumers, resetCoursePrices, startPaymentConsumers } from '../src/events/consumers.js';
import { CHECKOUT, newKey, receivedEvent, SANDBOX_CARDS, startPayment, type PaymentHarness } from './harness.js';

let h: PaymentHarness;
beforeAll(async () => {
  h = await startPayment();
});
afterAll(async () => {
  await h.close();
});

const price = (courseId: string) => h.app.db.coursePrice.findUnique({ where: { courseId } });

describe('course prices projection (consumer payment-courses)', () => {
  it('applies newer versions only, so a redelivered older event never rolls the price back', async () => {
    const courseId = await h.publishCourse({ priceMinor: 1000, version: 1, title: 'v1' });
    await h.publishCourse({ courseId, priceMinor: 1500, version: 3, title: 'v3' });
    await h.publishCourse({ courseId, priceMinor: 1200, version: 2, title: 'v2' });
    await h.publishCourse({ courseId, priceMinor: 999, version: 3, title: 'v3 again' });
    expect(await price(courseId)).toMatchObject({
      priceMinor: 1500,
      version: 3,
      title: 'v3',
      status: 'PUBLISHED',
      currency: 'USD',
    });
  });

  it('an archive stops sales; a later publication of a newer version lifts it; an older one does not', async () => {
    const t0 = Date.now();
    const courseId = await h.publishCourse({ version: 1, time: new Date(t0) });
    await h.archiveCourse(courseId, new Date(t0 + 1000));
    await h.publishCourse({ courseId, version: 2, time: new Date(t0 + 500) }); // delayed, from before the archive
    expect(await price(courseId)).toMatchObject({ status: 'ARCHIVED', version: 2 });
    const learner = await h.user();
    const res = await h.gql(
      CHECKOUT,
      { input: { courseId, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.success } },
      learner.token,
    );
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    await h.publishCourse({ courseId, version: 3, time: new Date(t0 + 2000) });
    expect(await price(courseId)).toMatchObject({ status: 'PUBLISHED', version: 3, archivedAt: null });
  });

  it('an archive that arrives before any publication keeps the course unsellable', async () => {
    const courseId = newId();
    const t0 = Date.now();
    await h.archiveCourse(courseId, new Date(t0));
    await h.publishCourse({ courseId, version: 1, time: new Date(t0 - 1000) });
    expect(await price(courseId)).toMatchObject({ status: 'ARCHIVED', version: 1, priceMinor: 4900 });
  });

  it('skips a snapshot it cannot use (no course id, negative price) without failing the stream', async () => {
    const bad = create(courseEvents.CoursePublishedSchema, {
      course: { courseId: 'not-a-uuid', version: 1, price: { amountMinor: 100n, currency: 'USD' } },
    });
    await h.app.db.$transaction((tx) =>
      applyCourseSnapshot(tx, receivedEvent('course.course.published', bad) as never),
    );
    const courseId = newId();
    const negative = create(courseEvents.CoursePublishedSchema, {
      course: { courseId, version: 1, price: { amountMinor: -5n, currency: 'USD' } },
    });
    await h.app.db.$transaction((tx) =>
      applyCourseSnapshot(tx, receivedEvent('course.course.published', negative) as never),
    );
    expect(await price(courseId)).toBeNull();
  });
});

describe('consumers', () => {
  it('are declared for scripts/replay.mjs: the projection can be replayed, the saga step cannot', () => {
    expect(Object.keys(consumers).sort()).toEqual(['payment-courses', 'payment-enrollment']);
    expect(consumers['payment-courses']!.stream).toBe('COURSE');
    expect(consumers['payment-courses']!.handlers.map((x) => x.type.subject).sort()).toEqual([
      'course.course.archived',
      'course.course.published',
      'course.course.updated',
    ]);
    expect(consumers['payment-courses']!.reset).toBe(resetCoursePrices);
    expect(consumers['payment-enrollment']).toMatchObject({ stream: 'ENROLLMENT', reset: null });
    expect(consumers['payment-enrollment']!.handlers.map((x) => x.type.subject)).toEqual([
      'enrollment.enrollment.rejected',
    ]);
  });

  it('reset clears the projection (checked inside a transaction that is rolled back)', async () => {
    await h.publishCourse();
    const rollback = new Error('rollback');
    await expect(
      h.app.db.$transaction(async (tx) => {
        expect(await tx.coursePrice.count()).toBeGreaterThan(0);
        await resetCoursePrices(tx);
        expect(await tx.coursePrice.count()).toBe(0);
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    expect(await h.app.db.coursePrice.count()).toBeGreaterThan(0);
  });

  it('start against JetStream (streams COURSE and ENROLLMENT) and stop', async () => {
    const logger = createLogger('payment-test', 'silent');
    const consumers = await startPaymentConsumers({
      db: h.app.db,
      deps: { provider: h.provider, logger },
      natsUrl: h.config.natsUrl,
      logger,
    });
    await consumers.stop();
  });
});
