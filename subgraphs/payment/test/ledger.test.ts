import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@coursegraph/service-kit';
import type { GraphQLError } from 'graphql';
import { contextDatabaseUrl, errorCode } from '@coursegraph/test-support';
import { assertTransition, canTransition, type OrderStatus } from '../src/domain/order-state.js';
import { CHECKOUT, newKey, REFUND, SANDBOX_CARDS, startPayment, type PaymentHarness } from './harness.js';

let h: PaymentHarness;
let sql: pg.Client;
beforeAll(async () => {
  h = await startPayment();
  // The service's own role: what the database refuses it, it refuses everyone but a superuser.
  sql = new pg.Client({ connectionString: contextDatabaseUrl('payment') });
  await sql.connect();
});
afterAll(async () => {
  await sql.end();
  await h.close();
});

async function paidOrder(priceMinor = 2500) {
  const courseId = await h.publishCourse({ priceMinor });
  const learner = await h.user();
  const res = await h.gql(
    CHECKOUT,
    { input: { courseId, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.success } },
    learner.token,
  );
  return res.body.data!.checkout.order as { id: string };
}

describe('the ledger is append-only and double-entry (enforced by the database)', () => {
  it('refuses UPDATE, DELETE and TRUNCATE of ledger entries', async () => {
    const order = await paidOrder();
    const before = await h.ledgerOf(order.id);
    expect(before.entries).toHaveLength(2);
    await expect(
      sql.query('update ledger_entries set amount_minor = 1 where order_id = $1', [order.id]),
    ).rejects.toThrow(/append-only: UPDATE/);
    await expect(sql.query('delete from ledger_entries where order_id = $1', [order.id])).rejects.toThrow(
      /append-only: DELETE/,
    );
    await expect(sql.query('truncate ledger_entries')).rejects.toThrow(/append-only: TRUNCATE/);
    await expect(h.app.db.ledgerEntry.deleteMany({ where: { orderId: order.id } })).rejects.toThrow();
    expect((await h.ledgerOf(order.id)).entries).toEqual(before.entries);
  });

  it('refuses a transaction whose entries do not sum to zero, at commit', async () => {
    const transactionId = newId();
    const insert = (amount: number) =>
      sql.query(
        `insert into ledger_entries (id, transaction_id, kind, order_id, user_id, account, amount_minor, currency) values ($1, $2, 'CHARGE', $3, $4, 'provider_clearing', $5, 'USD')`,
        [newId(), transactionId, newId(), newId(), amount],
      );
    await sql.query('begin');
    await insert(100);
    await insert(-99);
    await expect(sql.query('commit')).rejects.toThrow(/does not balance: 1 USD/);
    expect(
      (await sql.query('select count(*)::int as n from ledger_entries where transaction_id = $1', [transactionId]))
        .rows[0].n,
    ).toBe(0);
  });

  it('ledgerBalance (admins): every account per currency, summing to zero', async () => {
    const order = await paidOrder(4000);
    const admin = await h.user('ADMIN');
    await h.gql(REFUND, { orderId: order.id, amount: 1000, reason: 'test' }, admin.token);
    const QUERY = `{ ledgerBalance { balanced accounts { account balance { amountMinor currency } } } }`;
    const res = await h.gql(QUERY, {}, admin.token);
    const { balanced, accounts } = res.body.data!.ledgerBalance;
    expect(balanced).toBe(true);
    const usd = accounts.filter((a: any) => a.balance.currency === 'USD');
    expect(usd.map((a: any) => a.account).sort()).toEqual(
      expect.arrayContaining(['PLATFORM_REVENUE', 'PROVIDER_CLEARING', 'REFUNDS']),
    );
    expect(usd.reduce((sum: number, a: any) => sum + a.balance.amountMinor, 0)).toBe(0);
    expect(usd.find((a: any) => a.account === 'PLATFORM_REVENUE').balance.amountMinor).toBeLessThanOrEqual(-4000);

    const learner = await h.user();
    expect(errorCode(await h.gql(QUERY, {}, learner.token))).toBe('FORBIDDEN');
  });

  it("ledgerEntries (admins): one order's entries, newest first, paged", async () => {
    const order = await paidOrder(4000);
    const admin = await h.user('ADMIN');
    await h.gql(REFUND, { orderId: order.id, amount: 1000, reason: 'test' }, admin.token);
    const QUERY = `query($orderId: ID, $after: String) { ledgerEntries(first: 3, orderId: $orderId, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { kind account transactionId amount { amountMinor currency } order { id } } } } }`;
    const page1 = (await h.gql(QUERY, { orderId: order.id }, admin.token)).body.data!.ledgerEntries;
    expect(page1.totalCount).toBe(4);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (await h.gql(QUERY, { orderId: order.id, after: page1.pageInfo.endCursor }, admin.token)).body.data!
      .ledgerEntries;
    const nodes = [...page1.edges, ...page2.edges].map((e: any) => e.node);
    expect(nodes.map((n: any) => [n.kind, n.account, n.amount.amountMinor])).toEqual(
      expect.arrayContaining([
        ['REFUND', 'REFUNDS', 1000],
        ['REFUND', 'PROVIDER_CLEARING', -1000],
        ['CHARGE', 'PROVIDER_CLEARING', 4000],
        ['CHARGE', 'PLATFORM_REVENUE', -4000],
      ]),
    );
    expect(nodes[0].kind).toBe('REFUND');
    expect(new Set(nodes.map((n: any) => n.order.id))).toEqual(new Set([order.id]));
    expect(errorCode(await h.gql(QUERY, { orderId: 'x' }, admin.token))).toBe('BAD_USER_INPUT');
  });
});

describe('the order state machine', () => {
  const statuses: OrderStatus[] = ['PENDING', 'PAID', 'FAILED', 'PARTIALLY_REFUNDED', 'REFUNDED'];
  const allowed = new Set([
    'PENDING>PAID',
    'PENDING>FAILED',
    'PAID>PARTIALLY_REFUNDED',
    'PAID>REFUNDED',
    'PARTIALLY_REFUNDED>PARTIALLY_REFUNDED',
    'PARTIALLY_REFUNDED>REFUNDED',
  ]);

  it('allows exactly the documented transitions; anything else is a CONFLICT', () => {
    for (const from of statuses) {
      for (const to of statuses) {
        const ok = allowed.has(`${from}>${to}`);
        expect(canTransition(from, to), `${from} -> ${to}`).toBe(ok);
        if (!ok) {
          let error: GraphQLError | undefined;
          try {
            assertTransition(from, to);
          } catch (err) {
            error = err as GraphQLError;
          }
          expect(error?.extensions.code, `${from} -> ${to}`).toBe('CONFLICT');
        }
      }
    }
  });

  it('the database refuses invalid transitions too', async () => {
    const order = await paidOrder();
    await expect(sql.query(`update orders set status = 'PENDING' where id = $1`, [order.id])).rejects.toThrow(
      /invalid status transition PAID -> PENDING/,
    );
    await expect(sql.query(`update orders set status = 'FAILED' where id = $1`, [order.id])).rejects.toThrow(
      /invalid status transition PAID -> FAILED/,
    );
    await sql.query(`update orders set status = 'REFUNDED', refunded_minor = total_minor where id = $1`, [order.id]);
    await expect(sql.query(`update orders set status = 'PAID' where id = $1`, [order.id])).rejects.toThrow(
      /invalid status transition REFUNDED -> PAID/,
    );
    await expect(
      sql.query(`update orders set refunded_minor = total_minor + 1 where id = $1`, [order.id]),
    ).rejects.toThrow(/orders_amounts_check/);
  });
});
