import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@coursegraph/service-kit';
import { errorCode } from '@coursegraph/test-support';
import { CHECKOUT, newKey, SANDBOX_CARDS, startPayment, type PaymentHarness } from './harness.js';

let h: PaymentHarness;
let admin: string;
beforeAll(async () => {
  h = await startPayment();
  admin = (await h.user('ADMIN')).token;
});
afterAll(async () => {
  await h.close();
});

const code = (tag = 'C') => `${tag}-${randomBytes(5).toString('hex')}`.toUpperCase();
const CREATE = `mutation($input: CreateCouponInput!) { createCoupon(input: $input) {
  id code kind percentOff amountOff { amountMinor currency } course { id } expiresAt maxRedemptions redemptions usable } }`;

async function createCoupon(input: Record<string, unknown>) {
  const res = await h.gql(CREATE, { input }, admin);
  if (!res.body.data?.createCoupon) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.createCoupon;
}

async function buy(courseId: string, couponCode: string | null, card: string = SANDBOX_CARDS.success) {
  const learner = await h.user();
  const res = await h.gql(
    CHECKOUT,
    { input: { courseId, idempotencyKey: newKey(), paymentMethod: card, couponCode } },
    learner.token,
  );
  return { res, learner };
}

const redemptions = async (couponCode: string) =>
  (await h.app.db.coupon.findUniqueOrThrow({ where: { code: couponCode } })).redemptions;

describe('createCoupon', () => {
  it('creates percent and fixed coupons, codes upper-cased', async () => {
    const percent = await createCoupon({ code: code('pct').toLowerCase(), percentOff: 15 });
    expect(percent).toMatchObject({
      kind: 'PERCENT',
      percentOff: 15,
      amountOff: null,
      course: null,
      redemptions: 0,
      usable: true,
    });
    expect(percent.code).toBe(percent.code.toUpperCase());
    const courseId = newId();
    const fixed = await createCoupon({
      code: code('fix'),
      amountOffMinor: 700,
      currency: 'eur',
      courseId,
      maxRedemptions: 3,
      expiresAt: '2099-01-01T00:00:00Z',
    });
    expect(fixed).toMatchObject({
      kind: 'FIXED',
      percentOff: null,
      amountOff: { amountMinor: 700, currency: 'EUR' },
      course: { id: courseId },
      maxRedemptions: 3,
      expiresAt: '2099-01-01T00:00:00.000Z',
    });
  });

  it.each([
    ['a bad code', { code: 'a b', percentOff: 10 }, 'code'],
    ['both kinds', { percentOff: 10, amountOffMinor: 100, currency: 'USD' }, 'percentOff'],
    ['neither kind', {}, 'percentOff'],
    ['percent over 100', { percentOff: 101 }, 'percentOff'],
    ['percent zero', { percentOff: 0 }, 'percentOff'],
    ['a negative amount', { amountOffMinor: -5, currency: 'USD' }, 'amountOffMinor'],
    ['a fixed amount without currency', { amountOffMinor: 100 }, 'currency'],
    ['a percent with currency', { percentOff: 5, currency: 'USD' }, 'currency'],
    ['a past expiry', { percentOff: 5, expiresAt: '2020-01-01T00:00:00Z' }, 'expiresAt'],
    ['a zero usage limit', { percentOff: 5, maxRedemptions: 0 }, 'maxRedemptions'],
    ['a course id that is not a UUID', { percentOff: 5, courseId: 'nope' }, 'courseId'],
  ])('refuses %s, creating nothing', async (_name, input, field) => {
    const c = code('bad');
    const res = await h.gql(CREATE, { input: { code: c, ...input } }, admin);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.extensions!.field).toBe(field);
    expect(await h.app.db.coupon.count({ where: { code: c } })).toBe(0);
  });

  it('refuses a duplicate code (any case) with CONFLICT, and non-admins with FORBIDDEN', async () => {
    const c = code('dup');
    await createCoupon({ code: c, percentOff: 5 });
    const dup = await h.gql(CREATE, { input: { code: c.toLowerCase(), percentOff: 50 } }, admin);
    expect(errorCode(dup)).toBe('CONFLICT');
    expect((await h.app.db.coupon.findUniqueOrThrow({ where: { code: c } })).percentOff).toBe(5);
    const learner = await h.user();
    expect(errorCode(await h.gql(CREATE, { input: { code: code(), percentOff: 5 } }, learner.token))).toBe('FORBIDDEN');
  });

  it('coupon(code) is for admins (null for unknown codes); learners and anonymous callers are refused', async () => {
    const c = await createCoupon({ code: code('look'), percentOff: 20, maxUsesPerUser: 2 });
    const QUERY = `query($code: String!) { coupon(code: $code) { code percentOff usable maxUsesPerUser } }`;
    expect((await h.gql(QUERY, { code: c.code.toLowerCase() }, admin)).body.data!.coupon).toEqual({
      code: c.code,
      percentOff: 20,
      usable: true,
      maxUsesPerUser: 2,
    });
    expect((await h.gql(QUERY, { code: 'NOPE-NOPE' }, admin)).body.data!.coupon).toBeNull();
    const learner = await h.user();
    const asLearner = await h.gql(QUERY, { code: c.code }, learner.token);
    expect(errorCode(asLearner)).toBe('FORBIDDEN');
    expect(asLearner.body.data?.coupon ?? null).toBeNull();
    expect(errorCode(await h.gql(QUERY, { code: c.code }))).toBe('UNAUTHENTICATED');
  });

  it('refuses a per-user limit below 1', async () => {
    const c = code('pu');
    const res = await h.gql(CREATE, { input: { code: c, percentOff: 5, maxUsesPerUser: 0 } }, admin);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.extensions!.field).toBe('maxUsesPerUser');
    expect(await h.app.db.coupon.count({ where: { code: c } })).toBe(0);
  });
});

describe('coupons at checkout', () => {
  it('a percent coupon takes its share (rounded to the minor unit) and the ledger records the discount', async () => {
    const courseId = await h.publishCourse({ priceMinor: 1999 });
    const c = await createCoupon({ code: code('ten'), percentOff: 10 });
    const { res } = await buy(courseId, c.code.toLowerCase());
    const order = res.body.data!.checkout.order;
    expect(order).toMatchObject({
      status: 'PAID',
      couponCode: c.code,
      subtotal: { amountMinor: 1999 },
      discount: { amountMinor: 200 },
      total: { amountMinor: 1799 },
    });
    expect(order.payments[0].amount.amountMinor).toBe(1799);
    const ledger = await h.ledgerOf(order.id);
    expect(ledger.byAccount('CHARGE')).toEqual({
      provider_clearing: 1799,
      coupon_discounts: 200,
      platform_revenue: -1999,
    });
    expect(ledger.sums).toEqual({ USD: 0 });
    expect(await redemptions(c.code)).toBe(1);
  });

  it('a fixed coupon takes its amount; one larger than the price makes the order free, paid without a charge', async () => {
    const courseId = await h.publishCourse({ priceMinor: 3000 });
    const c = await createCoupon({ code: code('fix'), amountOffMinor: 500, currency: 'USD' });
    const { res } = await buy(courseId, c.code);
    expect(res.body.data!.checkout.order).toMatchObject({
      discount: { amountMinor: 500 },
      total: { amountMinor: 2500 },
    });

    const cheap = await h.publishCourse({ priceMinor: 300 });
    const { res: free } = await buy(cheap, c.code);
    const order = free.body.data!.checkout.order;
    expect(order).toMatchObject({
      status: 'PAID',
      discount: { amountMinor: 300 },
      total: { amountMinor: 0 },
      payments: [],
    });
    expect((await h.ledgerOf(order.id)).byAccount('CHARGE')).toEqual({ coupon_discounts: 300, platform_revenue: -300 });
  });

  it('refuses an expired coupon, creating nothing', async () => {
    const courseId = await h.publishCourse();
    const c = code('old');
    await h.app.db.coupon.create({
      data: {
        id: newId(),
        code: c,
        kind: 'PERCENT',
        percentOff: 10,
        expiresAt: new Date(Date.now() - 1000),
        createdBy: newId(),
      },
    });
    const { res, learner } = await buy(courseId, c);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.message).toBe('This coupon code is not valid.');
    expect(await h.ordersOf(learner.userId)).toEqual([]);
  });

  it('refuses a coupon whose usage limit is reached, even under concurrent checkouts', async () => {
    const c = await createCoupon({ code: code('lim'), percentOff: 30, maxRedemptions: 2 });
    const courses = await Promise.all([1, 2, 3, 4].map(() => h.publishCourse()));
    const results = await Promise.all(courses.map((courseId) => buy(courseId, c.code)));
    const paid = results.filter(({ res }) => res.body.data?.checkout.order.status === 'PAID');
    const refused = results.filter(({ res }) => errorCode(res) === 'BAD_USER_INPUT');
    expect(paid).toHaveLength(2);
    expect(refused).toHaveLength(2);
    for (const { res, learner } of refused) {
      expect(res.body.errors![0]!.message).toBe('This coupon code is not valid.');
      expect(await h.ordersOf(learner.userId)).toEqual([]);
    }
    expect(await redemptions(c.code)).toBe(2);
  });

  it('refuses a coupon for another course, or in another currency', async () => {
    const courseId = await h.publishCourse({ priceMinor: 5000, currency: 'USD' });
    const other = await createCoupon({ code: code('other'), percentOff: 10, courseId: newId() });
    const wrongCourse = await buy(courseId, other.code);
    expect(errorCode(wrongCourse.res)).toBe('BAD_USER_INPUT');
    expect(wrongCourse.res.body.errors![0]!.message).toBe('This coupon code is not valid.');

    const euros = await createCoupon({ code: code('eur'), amountOffMinor: 100, currency: 'EUR' });
    const wrongCurrency = await buy(courseId, euros.code);
    expect(errorCode(wrongCurrency.res)).toBe('BAD_USER_INPUT');
    expect(wrongCurrency.res.body.errors![0]!.message).toBe('This coupon code is not valid.');
    expect(await h.ordersOf(wrongCourse.learner.userId)).toEqual([]);
    expect(await h.ordersOf(wrongCurrency.learner.userId)).toEqual([]);
  });

  it('a coupon for this course applies; a declined checkout gives the use back', async () => {
    const courseId = await h.publishCourse();
    const c = await createCoupon({ code: code('mine'), percentOff: 50, courseId, maxRedemptions: 1 });
    const declined = await buy(courseId, c.code, SANDBOX_CARDS.declined);
    expect(errorCode(declined.res)).toBe('PAYMENT_DECLINED');
    expect(await redemptions(c.code)).toBe(0);
    const { res } = await buy(courseId, c.code);
    expect(res.body.data!.checkout.order).toMatchObject({ status: 'PAID', discount: { amountMinor: 2450 } });
    expect(await redemptions(c.code)).toBe(1);
  });

  it('an unknown, an expired, a used-up and a per-user-exhausted code get exactly the same answer', async () => {
    const courseId = await h.publishCourse();
    const expired = code('exp');
    await h.app.db.coupon.create({
      data: {
        id: newId(),
        code: expired,
        kind: 'PERCENT',
        percentOff: 10,
        expiresAt: new Date(Date.now() - 1000),
        createdBy: newId(),
      },
    });
    const usedUp = await createCoupon({ code: code('one'), percentOff: 10, maxRedemptions: 1 });
    expect((await buy(await h.publishCourse(), usedUp.code)).res.body.data!.checkout.order.status).toBe('PAID');
    const perUser = await createCoupon({ code: code('pu'), percentOff: 10, maxUsesPerUser: 1 });
    const learner = await h.user();
    const first = await h.gql(
      CHECKOUT,
      {
        input: {
          courseId: await h.publishCourse(),
          idempotencyKey: newKey(),
          paymentMethod: SANDBOX_CARDS.success,
          couponCode: perUser.code,
        },
      },
      learner.token,
    );
    expect(first.body.data!.checkout.order.status).toBe('PAID');

    const answers = [];
    for (const couponCode of [code('unknown'), expired, usedUp.code, perUser.code]) {
      const res = await h.gql(
        CHECKOUT,
        { input: { courseId, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.success, couponCode } },
        learner.token,
      );
      answers.push({ status: res.status, errors: res.body.errors, data: res.body.data });
    }
    expect(answers[0]!.errors![0]).toMatchObject({
      message: 'This coupon code is not valid.',
      extensions: { code: 'BAD_USER_INPUT', field: 'couponCode' },
    });
    for (const answer of answers.slice(1)) expect(answer).toEqual(answers[0]);
    expect((await h.ordersOf(learner.userId)).length).toBe(1);
  });

  it("maxUsesPerUser holds under one user's concurrent checkouts, leaves other users alone, and a failed order gives the use back", async () => {
    const c = await createCoupon({ code: code('per'), percentOff: 25, maxUsesPerUser: 1 });
    const learner = await h.user();
    const courses = await Promise.all([1, 2, 3].map(() => h.publishCourse()));
    const results = await Promise.all(
      courses.map((courseId) =>
        h.gql(
          CHECKOUT,
          { input: { courseId, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.success, couponCode: c.code } },
          learner.token,
        ),
      ),
    );
    expect(results.filter((r) => r.body.data?.checkout.order.status === 'PAID')).toHaveLength(1);
    expect(results.filter((r) => r.body.errors?.[0]?.message === 'This coupon code is not valid.')).toHaveLength(2);
    expect(await h.ordersOf(learner.userId)).toHaveLength(1);
    expect(
      await h.app.db.couponUse.findUnique({ where: { couponId_userId: { couponId: c.id, userId: learner.userId } } }),
    ).toMatchObject({ uses: 1 });

    const other = await h.user();
    const declined = await h.gql(
      CHECKOUT,
      {
        input: {
          courseId: courses[0],
          idempotencyKey: newKey(),
          paymentMethod: SANDBOX_CARDS.declined,
          couponCode: c.code,
        },
      },
      other.token,
    );
    expect(errorCode(declined)).toBe('PAYMENT_DECLINED');
    const paid = await h.gql(
      CHECKOUT,
      {
        input: {
          courseId: courses[0],
          idempotencyKey: newKey(),
          paymentMethod: SANDBOX_CARDS.success,
          couponCode: c.code,
        },
      },
      other.token,
    );
    expect(paid.body.data!.checkout.order).toMatchObject({ status: 'PAID', couponCode: c.code });
    expect(await redemptions(c.code)).toBe(2);
  });
});
