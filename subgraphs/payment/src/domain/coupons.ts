/**
 * Coupons: creation rules, and what a coupon takes off a price at checkout. At checkout every
 * reason a code cannot be used (unknown, expired, used up, over the per-user limit, another
 * course, another currency) gets the same BAD_USER_INPUT "This coupon code is not valid.", so the
 * answer tells a guesser nothing about which codes exist. Looking a coupon up by code is for admins.
 */
import { badInput, conflict, isUuid, newId, isUniqueViolation } from '@coursegraph/service-kit';
import type { Coupon, PrismaClient } from '../generated/prisma/client.js';
import { type Tx } from '../data/db.js';

export const normaliseCouponCode = (code: string) => code.trim().toUpperCase();
const CODE = /^[A-Z0-9_-]{3,64}$/;
export const CURRENCY = /^[A-Z]{3}$/;
/** Upper bound of amounts anywhere in payment (GraphQL Int is 32-bit). */
export const MAX_AMOUNT_MINOR = 1_000_000_000;

export interface CreateCouponInput {
  code: string;
  percentOff?: number | null;
  amountOffMinor?: number | null;
  currency?: string | null;
  courseId?: string | null;
  expiresAt?: string | null;
  maxRedemptions?: number | null;
  maxUsesPerUser?: number | null;
}

/** Validates everything first, so a refused coupon writes nothing. */
export async function createCoupon(
  db: PrismaClient,
  adminId: string,
  input: CreateCouponInput,
  now = new Date(),
): Promise<Coupon> {
  const code = normaliseCouponCode(input.code);
  if (!CODE.test(code)) throw badInput('A coupon code is 3 to 64 letters, digits, - or _.', 'code');
  const percent = input.percentOff ?? null;
  const amount = input.amountOffMinor ?? null;
  if ((percent === null) === (amount === null))
    throw badInput('Give exactly one of percentOff and amountOffMinor.', 'percentOff');
  if (percent !== null && (!Number.isInteger(percent) || percent < 1 || percent > 100))
    throw badInput('percentOff must be 1 to 100.', 'percentOff');
  if (amount !== null && (!Number.isInteger(amount) || amount < 1 || amount > MAX_AMOUNT_MINOR)) {
    throw badInput('amountOffMinor must be a positive number of minor units.', 'amountOffMinor');
  }
  const currency = input.currency == null ? null : input.currency.trim().toUpperCase();
  if (amount !== null && (currency === null || !CURRENCY.test(currency)))
    throw badInput('A fixed coupon needs an ISO 4217 currency such as USD.', 'currency');
  if (percent !== null && currency !== null) throw badInput('A percentage coupon has no currency.', 'currency');
  if (input.courseId != null && !isUuid(input.courseId)) throw badInput('courseId is not a course id.', 'courseId');
  const expiresAt = input.expiresAt == null ? null : new Date(input.expiresAt);
  if (expiresAt !== null && expiresAt <= now) throw badInput('expiresAt must be in the future.', 'expiresAt');
  const max = input.maxRedemptions ?? null;
  if (max !== null && (!Number.isInteger(max) || max < 1))
    throw badInput('maxRedemptions must be at least 1.', 'maxRedemptions');
  const perUser = input.maxUsesPerUser ?? null;
  if (perUser !== null && (!Number.isInteger(perUser) || perUser < 1))
    throw badInput('maxUsesPerUser must be at least 1.', 'maxUsesPerUser');
  try {
    return await db.coupon.create({
      data: {
        id: newId(),
        code,
        kind: percent !== null ? 'PERCENT' : 'FIXED',
        percentOff: percent,
        amountOffMinor: amount,
        currency,
        courseId: input.courseId ?? null,
        expiresAt,
        maxRedemptions: max,
        maxUsesPerUser: perUser,
        createdBy: adminId,
      },
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`A coupon with the code ${code} exists.`, 'code');
    throw err;
  }
}

export const isExpired = (coupon: Coupon, now = new Date()) => coupon.expiresAt !== null && coupon.expiresAt <= now;
export const isUsedUp = (coupon: Coupon) =>
  coupon.maxRedemptions !== null && coupon.redemptions >= coupon.maxRedemptions;

/** The one answer to every unusable code at checkout: no oracle for which codes exist. */
export const invalidCoupon = () => badInput('This coupon code is not valid.', 'couponCode');

/**
 * What `coupon` takes off a price of `subtotalMinor` in `currency` for `courseId`; BAD_USER_INPUT
 * (invalidCoupon) when it cannot be used. Percentages round to the nearest minor unit; never below zero.
 */
export function discountFor(
  coupon: Coupon,
  courseId: string,
  subtotalMinor: number,
  currency: string,
  now = new Date(),
): number {
  if (coupon.courseId !== null && coupon.courseId !== courseId) throw invalidCoupon();
  if (isExpired(coupon, now) || isUsedUp(coupon)) throw invalidCoupon();
  if (coupon.kind === 'PERCENT') return Math.min(subtotalMinor, Math.round((subtotalMinor * coupon.percentOff!) / 100));
  if (coupon.currency !== currency) throw invalidCoupon();
  return Math.min(subtotalMinor, coupon.amountOffMinor!);
}

export async function findCoupon(db: PrismaClient | Tx, code: string): Promise<Coupon> {
  const coupon = await db.coupon.findUnique({ where: { code: normaliseCouponCode(code) } });
  if (!coupon) throw invalidCoupon();
  return coupon;
}

/**
 * Takes one use of the coupon for `userId`, atomically against its limit, its expiry and its
 * per-user limit (concurrent checkouts, by one user or many, cannot overspend it). Both counters
 * move in the caller's transaction, so a refusal of either leaves neither taken.
 */
export async function reserveCoupon(tx: Tx, coupon: Coupon, userId: string): Promise<void> {
  const taken = await tx.$executeRaw`
    update coupons set redemptions = redemptions + 1
    where id = ${coupon.id}::uuid
      and (max_redemptions is null or redemptions < max_redemptions)
      and (expires_at is null or expires_at > now())`;
  if (taken === 0) throw invalidCoupon();
  // The row lock of ON CONFLICT DO UPDATE serialises one user's concurrent checkouts, and its WHERE sees the latest count.
  const mine = await tx.$queryRaw<{ uses: number }[]>`
    insert into coupon_uses (coupon_id, user_id, uses) values (${coupon.id}::uuid, ${userId}::uuid, 1)
    on conflict (coupon_id, user_id) do update set uses = coupon_uses.uses + 1
      where ${coupon.maxUsesPerUser}::int is null or coupon_uses.uses < ${coupon.maxUsesPerUser}::int
    returning uses`;
  if (mine.length === 0 || (coupon.maxUsesPerUser !== null && mine[0]!.uses > coupon.maxUsesPerUser))
    throw invalidCoupon();
}

/** Gives a use back (the order that held it failed). */
export async function releaseCoupon(tx: Tx, couponId: string, userId: string): Promise<void> {
  await tx.$executeRaw`update coupons set redemptions = redemptions - 1 where id = ${couponId}::uuid and redemptions > 0`;
  await tx.$executeRaw`update coupon_uses set uses = uses - 1 where coupon_id = ${couponId}::uuid and user_id = ${userId}::uuid and uses > 0`;
}
