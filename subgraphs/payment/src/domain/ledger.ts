/**
 * The double-entry postings of each money movement. Every posting sums to zero per currency; the
 * database refuses a transaction that does not (deferred trigger) and any edit of a posted entry.
 *
 *   charge:  provider_clearing +total, coupon_discounts +discount, platform_revenue -subtotal
 *   refund:  refunds +amount, provider_clearing -amount
 */
import { newId } from '@coursegraph/service-kit';
import type { Tx } from '../data/db.js';

export const LEDGER_ACCOUNTS = ['provider_clearing', 'platform_revenue', 'coupon_discounts', 'refunds'] as const;
export type LedgerAccountName = (typeof LEDGER_ACCOUNTS)[number];

export interface Posting {
  account: LedgerAccountName;
  /** Signed minor units: positive debits, negative credits. */
  amountMinor: number;
}

interface OrderMoney {
  id: string;
  userId: string;
  currency: string;
  subtotalMinor: number;
  discountMinor: number;
  totalMinor: number;
}

export function chargePostings(order: OrderMoney): Posting[] {
  const postings: Posting[] = [
    { account: 'provider_clearing', amountMinor: order.totalMinor },
    { account: 'coupon_discounts', amountMinor: order.discountMinor },
    { account: 'platform_revenue', amountMinor: -order.subtotalMinor },
  ];
  return postings.filter((p) => p.amountMinor !== 0);
}

export function refundPostings(amountMinor: number): Posting[] {
  return [
    { account: 'refunds', amountMinor },
    { account: 'provider_clearing', amountMinor: -amountMinor },
  ];
}

/** Appends one ledger transaction; returns its id (none is written when nothing moves). */
export async function postLedger(
  tx: Tx,
  kind: 'CHARGE' | 'REFUND',
  order: OrderMoney,
  postings: Posting[],
  refundId: string | null = null,
): Promise<string | null> {
  const sum = postings.reduce((total, p) => total + p.amountMinor, 0);
  if (sum !== 0) throw new Error(`unbalanced ${kind} postings for order ${order.id}: ${sum}`);
  if (postings.length === 0) return null;
  const transactionId = newId();
  await tx.ledgerEntry.createMany({
    data: postings.map((p) => ({
      id: newId(),
      transactionId,
      kind,
      orderId: order.id,
      userId: order.userId,
      refundId,
      account: p.account,
      amountMinor: p.amountMinor,
      currency: order.currency,
    })),
  });
  return transactionId;
}
