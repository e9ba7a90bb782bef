/**
 * The order state machine. The database enforces the same transitions with a trigger (see the
 * payment migration), so a bug here cannot corrupt an order.
 */
import { conflict } from '@coursegraph/service-kit';
import type { OrderStatus } from '../generated/prisma/client.js';

export type { OrderStatus };

const TRANSITIONS: Record<OrderStatus, readonly OrderStatus[]> = {
  PENDING: ['PAID', 'FAILED'],
  PAID: ['PARTIALLY_REFUNDED', 'REFUNDED'],
  PARTIALLY_REFUNDED: ['PARTIALLY_REFUNDED', 'REFUNDED'],
  FAILED: [],
  REFUNDED: [],
};

/** Statuses under which a user holds the course (or is about to): one such order per user and course. */
export const ACTIVE_STATUSES: readonly OrderStatus[] = ['PENDING', 'PAID', 'PARTIALLY_REFUNDED'];

/** Statuses from which money can be refunded. */
export const REFUNDABLE_STATUSES: readonly OrderStatus[] = ['PAID', 'PARTIALLY_REFUNDED'];

export const canTransition = (from: OrderStatus, to: OrderStatus): boolean => TRANSITIONS[from].includes(to);

/** Throws CONFLICT for a transition the machine does not allow. */
export function assertTransition(from: OrderStatus, to: OrderStatus): void {
  if (!canTransition(from, to)) throw conflict(`An order that is ${from} cannot become ${to}.`);
}

/** The status after a refund that brings the refunded total to `refundedAfter`. */
export const statusAfterRefund = (totalMinor: number, refundedAfter: number): OrderStatus =>
  refundedAfter >= totalMinor ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
