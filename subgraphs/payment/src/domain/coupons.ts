/** Coupons: creation rules, and what a coupon takes off a price at checkout. */
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
}

/** Validates everything first, so a refused coupon writes nothing. */
export async function createCoupon(db: PrismaClient, adminId: string, input: CreateCouponInput, now = new Date()): Promise<Coupon> {
  const code = normaliseCouponCode(input.code);
  if (!CODE.test(code)) throw badInput('A coupon code is 3 to 64 letters, digits, - or _.', 'code');
  const percent = input.percentOff ?? null;
  const amount = input.amountOffMinor ?? null;
  if ((percent === null) === (amount === null)) throw badInput('Give exactly one of percentOff and amountOffMinor.', 'percentOff');
  if (percent !== null && (!Number.isInteger(percent) || percent < 1 || percent > 100)) throw badInput('percentOff must be 1 to 100.', 'percentOff');
  if (amount !== null && (!Number.isInteger(amount) || amount < 1 || amount > MAX_AMOUNT_MINOR)) {
    throw badInput('amountOffMinor must be a positive number of minor units.', 'amountOffMinor');
  }
  const currency = input.currency == null ? null : input.currency.trim().toUpperCase();
  if (amount !== null && (currency === null || !CURRENCY.test(currency))) throw badInput('A fixed coupon needs an ISO 4217 currency such as USD.', 'currency');
  if (percent !== null && currency !== null) throw badInput('A percentage coupon has no currency.', 'currency');
  if (input.courseId != null && !isUuid(input.courseId)) throw badInput('courseId is not a course id.', 'courseId');
  const expiresAt = input.expiresAt == null ? null : new Date(input.expiresAt);
  if (expiresAt !== null && expiresAt <= now) throw badInput('expiresAt must be in the future.', 'expiresAt');
  const max = input.maxRedemptions ?? null;
  if (max !== null && (!Number.isInteger(max) || max < 1)) throw badInput('maxRedemptions must be at least 1.', 'maxRedemptions');
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
        createdBy: adminId,
      },
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`A coupon with the code ${code} exists.`, 'code');
    throw err;
  }
}

export const isExpired = (coupon: Coupon, now = new Date()) => coupon.expiresAt !== null && coupon.expiresAt <= now;
export const isUsedUp = (coupon: Coupon) => coupon.maxRedemptions !== null && coupon.redemptions >= coupon.maxRedemptions;

const USED_UP = () => badInput('This coupon has been used up.', 'couponCode');
const EXPIRED = () => badInput('This coupon has expired.', 'couponCode');

/**
 * What `coupon` takes off a price of `subtotalMinor` in `currency` for `courseId`; BAD_USER_INPUT
 * when it cannot be used. Percentages round to the nearest minor unit; never below zero.
 */
export function discountFor(coupon: Coupon, courseId: string, subtotalMinor: number, currency: string, now = new Date()): number {
  if (coupon.courseId !== null && coupon.courseId !== courseId) throw badInput('This coupon does not apply to this course.', 'couponCode');
  if (isExpired(coupon, now)) throw EXPIRED();
  if (isUsedUp(coupon)) throw USED_UP();
  if (coupon.kind === 'PERCENT') return Math.min(subtotalMinor, Math.round((subtotalMinor * coupon.percentOff!) / 100));
  if (coupon.currency !== currency) throw badInput(`This coupon is in ${coupon.currency}; the course is priced in ${currency}.`, 'couponCode');
  return Math.min(subtotalMinor, coupon.amountOffMinor!);
}

export async function findCoupon(db: PrismaClient | Tx, code: string): Promise<Coupon> {
  const coupon = await db.coupon.findUnique({ where: { code: normaliseCouponCode(code) } });
  if (!coupon) throw badInput('No coupon has this code.', 'couponCode');
  return coupon;
}

/** Takes one use of the coupon, atomically against its limit and expiry (concurrent checkouts cannot overspend it). */
export async function reserveCoupon(tx: Tx, coupon: Coupon): Promise<void> {
  const taken = await tx.$executeRaw`
    update coupons set redemptions = redemptions + 1
    where id = ${coupon.id}::uuid
      and (max_redemptions is null or redemptions < max_redemptions)
      and (expires_at is null or expires_at > now())`;
  if (taken === 0) throw isExpired(coupon) ? EXPIRED() : USED_UP();
}

/** Gives a use back (the order that held it failed). */
export async function releaseCoupon(tx: Tx, couponId: string): Promise<void> {
  await tx.$executeRaw`update coupons set redemptions = redemptions - 1 where id = ${couponId}::uuid and redemptions > 0`;
}
