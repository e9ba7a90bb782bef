/**
 * The Stripe adapter's wire protocol, against a local server that speaks it: form-encoded POSTs with
 * a Bearer key and an Idempotency-Key, JSON answers including Stripe's error shapes; a network error
 * is the server closing the socket.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { errorCode } from '@coursegraph/test-support';
import { PaymentEvents } from '@coursegraph/contracts';
import {
  ProviderRefusedError,
  ProviderUnavailableError,
  StripeProvider,
  stripeSignatureHeader,
  verifyStripeSignature,
} from '../src/providers/index.js';
import { STRIPE_API_VERSION } from '../src/providers/stripe.js';
import { CHECKOUT, newKey, REFUND, startPayment } from './harness.js';

interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  form: Record<string, string>;
}

const SECRET = 'sk_test_coursegraph_123';
let server: Server;
let base: string;
let seen: SeenRequest[] = [];
/** Like Stripe: a repeated Idempotency-Key gets the first answer again. */
const answered = new Map<string, { status: number; body: unknown }>();
/** Keys whose first request is still being processed: a concurrent one gets 409 idempotency_key_in_use. */
/** Keys whose first request is still being processed, with what releases its answer. */
const inProgress = new Map<string, () => void>();
/** PaymentIntents and refunds made, for the look-up endpoints. */
const intents = new Map<
  string,
  { id: string; object: 'payment_intent'; status: string; amount: number; metadata: Record<string, string> }
>();
const refundsMade: {
  id: string;
  object: 'refund';
  status: string;
  payment_intent: string;
  amount: number;
  metadata: Record<string, string>;
}[] = [];

const metadataOf = (form: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(form)
      .filter(([k]) => k.startsWith('metadata['))
      .map(([k, v]) => [k.slice('metadata['.length, -1), v]),
  );

function recordIntent(form: Record<string, string>, status = 'succeeded') {
  const intent = {
    id: `pi_${seen.length}`,
    object: 'payment_intent' as const,
    status,
    amount: Number(form.amount),
    metadata: metadataOf(form),
  };
  intents.set(intent.id, intent);
  return intent;
}

/** GET endpoints: a PaymentIntent by id, the search by metadata, refunds of a PaymentIntent. */
function lookup(url: URL): { status: number; body: unknown } {
  const byId = /^\/v1\/payment_intents\/(pi_\w+)$/.exec(url.pathname);
  if (byId) {
    const intent = intents.get(byId[1]!);
    return intent
      ? { status: 200, body: intent }
      : {
          status: 404,
          body: {
            error: { type: 'invalid_request_error', code: 'resource_missing', message: 'No such payment_intent' },
          },
        };
  }
  if (url.pathname === '/v1/payment_intents/search') {
    const orderId = /^metadata\['order_id'\]:'([0-9a-f-]+)'$/.exec(url.searchParams.get('query') ?? '')?.[1];
    if (!orderId) return { status: 400, body: { error: { type: 'invalid_request_error', message: 'bad query' } } };
    const data = [...intents.values()].filter((i) => i.metadata.order_id === orderId);
    return { status: 200, body: { object: 'search_result', data, has_more: false } };
  }
  if (url.pathname === '/v1/refunds') {
    return {
      status: 200,
      body: {
        object: 'list',
        data: refundsMade.filter((r) => r.payment_intent === url.searchParams.get('payment_intent')),
        has_more: false,
      },
    };
  }
  return {
    status: 404,
    body: { error: { type: 'invalid_request_error', message: `Unrecognized request URL (GET: ${url.pathname}).` } },
  };
}

function cardError(code: string, declineCode: string, message: string) {
  return {
    status: 402,
    body: {
      error: {
        type: 'card_error',
        code,
        decline_code: declineCode,
        message,
        payment_intent: { id: 'pi_declined_1', object: 'payment_intent', status: 'requires_payment_method' },
      },
    },
  };
}

function answer(path: string, form: Record<string, string>): { status: number; body: unknown } | 'hang-up' | 'hang' {
  if (path === '/v1/payment_intents') {
    switch (form.payment_method) {
      case 'pm_card_visa':
      case 'pm_card_slow':
        return { status: 200, body: { ...recordIntent(form), currency: form.currency, latest_charge: 'ch_1' } };
      case 'pm_card_timeout':
        // Stripe made the charge; the answer never comes back (the client times out).
        recordIntent(form);
        return 'hang';
      case 'pm_card_chargeDeclined':
        return cardError('card_declined', 'generic_decline', 'Your card was declined.');
      case 'pm_card_chargeDeclinedInsufficientFunds':
        return cardError('card_declined', 'insufficient_funds', 'Your card has insufficient funds.');
      case 'pm_card_authenticationRequired':
        return { status: 200, body: { id: 'pi_3ds', object: 'payment_intent', status: 'requires_action' } };
      case 'pm_server_error':
        return { status: 500, body: { error: { type: 'api_error', message: 'Something went wrong on our end.' } } };
      case 'pm_network_error':
        return 'hang-up';
      default:
        return {
          status: 400,
          body: {
            error: {
              type: 'invalid_request_error',
              code: 'resource_missing',
              param: 'payment_method',
              message: `No such PaymentMethod: '${form.payment_method}'`,
            },
          },
        };
    }
  }
  if (path === '/v1/refunds') {
    if (form.payment_intent === 'pi_refunded') {
      return {
        status: 400,
        body: {
          error: {
            type: 'invalid_request_error',
            code: 'charge_already_refunded',
            message: 'Charge ch_1 has already been refunded.',
          },
        },
      };
    }
    if (form.payment_intent === 'pi_hang_up') return 'hang-up';
    const refund = {
      id: `re_${seen.length}`,
      object: 'refund' as const,
      status: 'succeeded',
      amount: Number(form.amount),
      payment_intent: form.payment_intent!,
      metadata: metadataOf(form),
    };
    refundsMade.push(refund);
    return { status: 200, body: { ...refund, currency: 'usd' } };
  }
  return {
    status: 404,
    body: { error: { type: 'invalid_request_error', message: `Unrecognized request URL (POST: ${path}).` } },
  };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(raw));
      const path = req.url ?? '';
      seen.push({ method: req.method ?? '', path, headers: req.headers, form });
      if (req.headers.authorization !== `Bearer ${SECRET}`) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ error: { type: 'invalid_request_error', message: 'Invalid API Key provided: sk_****' } }),
        );
        return;
      }
      const send = (reply: { status: number; body: unknown }) => {
        res.writeHead(reply.status, { 'content-type': 'application/json', 'request-id': 'req_test' });
        res.end(JSON.stringify(reply.body));
      };
      if (req.method === 'GET') return send(lookup(new URL(path, 'http://stripe.test')));
      const key = String(req.headers['idempotency-key'] ?? '');
      if (key && inProgress.has(key)) {
        // The concurrent request is refused; the first one's answer then goes out.
        const release = inProgress.get(key)!;
        setImmediate(release);
        return send({
          status: 409,
          body: {
            error: {
              type: 'idempotency_error',
              code: 'idempotency_key_in_use',
              message: 'There is currently another in-progress request using this Idempotency Key.',
            },
          },
        });
      }
      const reply = answered.get(key) ?? answer(path, form);
      if (reply === 'hang-up') {
        req.socket.destroy();
        return;
      }
      if (reply === 'hang') return;
      if (key) answered.set(key, reply);
      if (form.payment_method === 'pm_card_slow') {
        // Processing lasts until a concurrent request with this key has been refused with a 409 (or,
        // if none comes, 5 s): the overlap the test needs, whatever the machine's load.
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          clearTimeout(fallback);
          inProgress.delete(key);
          send(reply);
        };
        const fallback = setTimeout(release, 5_000);
        inProgress.set(key, release);
        return;
      }
      send(reply);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen = [];
});

const stripe = (secretKey = SECRET) => new StripeProvider({ apiBase: `${base}/`, secretKey, timeoutMs: 5000 });
const charge = (paymentMethod: string, idempotencyKey = newKey()) =>
  stripe().charge({
    amount: 4900,
    currency: 'USD',
    paymentMethod,
    idempotencyKey,
    description: 'Coursegraph: Rust',
    metadata: { order_id: 'o-1' },
  });

describe('StripeProvider.charge', () => {
  it('creates and confirms a PaymentIntent: POST /v1/payment_intents, form-encoded, Bearer key, Idempotency-Key', async () => {
    const key = newKey();
    const result = await charge('pm_card_visa', key);
    expect(result).toEqual({ status: 'succeeded', providerPaymentId: 'pi_1' });
    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(request).toMatchObject({ method: 'POST', path: '/v1/payment_intents' });
    expect(request!.headers).toMatchObject({
      authorization: `Bearer ${SECRET}`,
      'content-type': 'application/x-www-form-urlencoded',
      'idempotency-key': key,
      'stripe-version': STRIPE_API_VERSION,
    });
    expect(request!.form).toEqual({
      amount: '4900',
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: 'true',
      description: 'Coursegraph: Rust',
      'automatic_payment_methods[enabled]': 'true',
      'automatic_payment_methods[allow_redirects]': 'never',
      'metadata[order_id]': 'o-1',
    });
  });

  it('the same key twice gets the same PaymentIntent (the provider de-duplicates)', async () => {
    const key = newKey();
    const first = await charge('pm_card_visa', key);
    const second = await charge('pm_card_visa', key);
    expect(second).toEqual(first);
    expect(seen.map((r) => r.headers['idempotency-key'])).toEqual([key, key]);
  });

  it('maps card_declined to DECLINED and insufficient_funds to INSUFFICIENT_FUNDS', async () => {
    expect(await charge('pm_card_chargeDeclined')).toEqual({
      status: 'declined',
      reason: 'DECLINED',
      providerPaymentId: 'pi_declined_1',
      message: 'Your card was declined.',
    });
    expect(await charge('pm_card_chargeDeclinedInsufficientFunds')).toMatchObject({
      status: 'declined',
      reason: 'INSUFFICIENT_FUNDS',
      providerPaymentId: 'pi_declined_1',
    });
  });

  it('a PaymentIntent that needs authentication, or an unknown payment method, is a decline', async () => {
    expect(await charge('pm_card_authenticationRequired')).toMatchObject({
      status: 'declined',
      reason: 'DECLINED',
      providerPaymentId: 'pi_3ds',
    });
    expect(await charge('pm_missing')).toMatchObject({
      status: 'declined',
      reason: 'DECLINED',
      providerPaymentId: null,
    });
  });

  it('a closed socket, a 5xx or a rejected key means the provider is unavailable', async () => {
    await expect(charge('pm_network_error')).rejects.toBeInstanceOf(ProviderUnavailableError);
    await expect(charge('pm_server_error')).rejects.toThrow(/HTTP 500 api_error/);
    await expect(
      stripe('sk_test_wrong').charge({
        amount: 1,
        currency: 'USD',
        paymentMethod: 'pm_card_visa',
        idempotencyKey: newKey(),
        description: 'x',
      }),
    ).rejects.toThrow(/HTTP 401/);
  });

  it('accepts only Stripe payment method ids', () => {
    expect(stripe().checkPaymentMethod('pm_card_visa')).toBeNull();
    expect(stripe().checkPaymentMethod('4242424242424242')).toMatch(/pm_/);
  });
});

describe('StripeProvider.refund', () => {
  it('POST /v1/refunds with payment_intent and amount, under the Idempotency-Key', async () => {
    const key = newKey();
    expect(await stripe().refund({ providerPaymentId: 'pi_42', amount: 1500, idempotencyKey: key })).toEqual({
      providerRefundId: 're_1',
    });
    expect(seen[0]).toMatchObject({
      method: 'POST',
      path: '/v1/refunds',
      form: { payment_intent: 'pi_42', amount: '1500' },
    });
    expect(seen[0]!.headers).toMatchObject({
      authorization: `Bearer ${SECRET}`,
      'idempotency-key': key,
      'content-type': 'application/x-www-form-urlencoded',
    });
  });

  it('a refusal (charge_already_refunded) and a network error are told apart', async () => {
    const refused = stripe().refund({ providerPaymentId: 'pi_refunded', amount: 100, idempotencyKey: newKey() });
    await expect(refused).rejects.toBeInstanceOf(ProviderRefusedError);
    await expect(
      stripe().refund({ providerPaymentId: 'pi_refunded', amount: 100, idempotencyKey: newKey() }),
    ).rejects.toMatchObject({ code: 'charge_already_refunded' });
    await expect(
      stripe().refund({ providerPaymentId: 'pi_hang_up', amount: 100, idempotencyKey: newKey() }),
    ).rejects.toBeInstanceOf(ProviderUnavailableError);
  });
});

describe('the payment subgraph with PAYMENT_PROVIDER=stripe', () => {
  it('checks out and refunds through the Stripe API', async () => {
    const h = await startPayment({
      env: { PAYMENT_PROVIDER: 'stripe', STRIPE_API_BASE: base, STRIPE_SECRET_KEY: SECRET },
    });
    try {
      expect(h.provider.name).toBe('stripe');
      const courseId = await h.publishCourse({ priceMinor: 2500, currency: 'EUR' });
      const learner = await h.user();
      const bad = await h.gql(
        CHECKOUT,
        { input: { courseId, idempotencyKey: newKey(), paymentMethod: '4242424242424242' } },
        learner.token,
      );
      expect(errorCode(bad)).toBe('BAD_USER_INPUT');
      expect(seen).toEqual([]);

      const res = await h.gql(
        CHECKOUT,
        { input: { courseId, idempotencyKey: newKey(), paymentMethod: 'pm_card_visa' } },
        learner.token,
      );
      const order = res.body.data!.checkout.order;
      expect(order).toMatchObject({
        status: 'PAID',
        payments: [{ provider: 'stripe', providerPaymentId: 'pi_1', status: 'SUCCEEDED' }],
      });
      expect(seen[0]!.headers['idempotency-key']).toBe(`order_${order.id}`);
      expect(seen[0]!.form).toMatchObject({
        amount: '2500',
        currency: 'eur',
        'metadata[order_id]': order.id,
        'metadata[user_id]': learner.userId,
      });

      const admin = await h.user('ADMIN');
      const refund = await h.gql(REFUND, { orderId: order.id, amount: 1000, reason: 'test' }, admin.token);
      expect(refund.body.data!.refundOrder.order.status).toBe('PARTIALLY_REFUNDED');
      expect(seen[1]).toMatchObject({ path: '/v1/refunds', form: { payment_intent: 'pi_1', amount: '1000' } });
      expect(refund.body.data!.refundOrder.order.refunds[0].providerRefundId).toBe('re_2');

      const declinedCourse = await h.publishCourse({ priceMinor: 2500, currency: 'EUR' });
      const declined = await h.gql(
        CHECKOUT,
        {
          input: {
            courseId: declinedCourse,
            idempotencyKey: newKey(),
            paymentMethod: 'pm_card_chargeDeclinedInsufficientFunds',
          },
        },
        learner.token,
      );
      expect(declined.body.errors![0]!.extensions).toMatchObject({
        code: 'PAYMENT_DECLINED',
        reason: 'INSUFFICIENT_FUNDS',
      });
    } finally {
      await h.close();
    }
  });
});

describe('StripeProvider look-ups', () => {
  it('finds a charge by PaymentIntent id, or by the order id in its metadata (search), and says when there is none', async () => {
    const orderId = crypto.randomUUID();
    const made = await stripe().charge({
      amount: 700,
      currency: 'USD',
      paymentMethod: 'pm_card_visa',
      idempotencyKey: newKey(),
      description: 'x',
      metadata: { order_id: orderId },
    });
    expect(made.status).toBe('succeeded');
    const id = (made as { providerPaymentId: string }).providerPaymentId;
    seen = [];
    expect(await stripe().lookupCharge({ orderId, idempotencyKey: 'unused', providerPaymentId: id })).toEqual({
      status: 'succeeded',
      providerPaymentId: id,
    });
    expect(seen[0]).toMatchObject({ method: 'GET', path: `/v1/payment_intents/${id}` });
    expect(await stripe().lookupCharge({ orderId, idempotencyKey: 'unused', providerPaymentId: null })).toEqual({
      status: 'succeeded',
      providerPaymentId: id,
    });
    expect(decodeURIComponent(seen[1]!.path)).toBe(
      `/v1/payment_intents/search?query=metadata['order_id']:'${orderId}'&limit=10`,
    );
    expect(seen[1]!.headers).toMatchObject({ authorization: `Bearer ${SECRET}`, 'stripe-version': STRIPE_API_VERSION });
    expect(seen[1]!.headers['idempotency-key']).toBeUndefined();
    expect(
      await stripe().lookupCharge({ orderId: crypto.randomUUID(), idempotencyKey: 'unused', providerPaymentId: null }),
    ).toEqual({ status: 'not_found' });
    expect(await stripe().lookupCharge({ orderId, idempotencyKey: 'unused', providerPaymentId: 'pi_missing' })).toEqual(
      { status: 'not_found' },
    );
    await expect(
      stripe('sk_test_wrong').lookupCharge({ orderId, idempotencyKey: 'unused', providerPaymentId: null }),
    ).rejects.toBeInstanceOf(ProviderUnavailableError);
  });

  it("finds a refund among the PaymentIntent's refunds by the attempt id sent as metadata", async () => {
    const attemptId = crypto.randomUUID();
    const { providerRefundId } = await stripe().refund({
      providerPaymentId: 'pi_77',
      amount: 300,
      idempotencyKey: newKey(),
      metadata: { attempt_id: attemptId },
    });
    expect(seen[0]!.form).toMatchObject({ 'metadata[attempt_id]': attemptId });
    expect(await stripe().lookupRefund({ providerPaymentId: 'pi_77', idempotencyKey: 'unused', attemptId })).toEqual({
      status: 'succeeded',
      providerRefundId,
    });
    expect(
      await stripe().lookupRefund({
        providerPaymentId: 'pi_77',
        idempotencyKey: 'unused',
        attemptId: crypto.randomUUID(),
      }),
    ).toEqual({ status: 'not_found' });
  });
});

describe('Stripe webhook signatures', () => {
  const secret = 'whsec_unit';
  const body = JSON.stringify({ id: 'evt_1', type: 'payment_intent.succeeded', data: { object: {} } });
  const now = 1_800_000_000;

  it('accepts a signature made with the secret within the tolerance, also among several v1 values', () => {
    const good = stripeSignatureHeader(body, secret, now);
    expect(verifyStripeSignature(body, good, { secret, nowMs: now * 1000 })).toBeNull();
    const rotated = `${stripeSignatureHeader(body, 'whsec_old', now)},v1=${good.split('v1=')[1]}`;
    expect(verifyStripeSignature(body, rotated, { secret, nowMs: (now + 299) * 1000 })).toBeNull();
  });

  it('refuses another secret, another body, a stale or future timestamp, and malformed headers', () => {
    expect(
      verifyStripeSignature(body, stripeSignatureHeader(body, 'whsec_other', now), { secret, nowMs: now * 1000 }),
    ).toBe('MISMATCH');
    expect(
      verifyStripeSignature(`${body} `, stripeSignatureHeader(body, secret, now), { secret, nowMs: now * 1000 }),
    ).toBe('MISMATCH');
    expect(
      verifyStripeSignature(body, stripeSignatureHeader(body, secret, now), { secret, nowMs: (now + 301) * 1000 }),
    ).toBe('STALE');
    expect(
      verifyStripeSignature(body, stripeSignatureHeader(body, secret, now + 301), { secret, nowMs: now * 1000 }),
    ).toBe('STALE');
    expect(
      verifyStripeSignature(body, stripeSignatureHeader(body, secret, now), {
        secret,
        nowMs: (now + 60) * 1000,
        toleranceSeconds: 30,
      }),
    ).toBe('STALE');
    expect(verifyStripeSignature(body, null, { secret })).toBe('MISSING');
    expect(verifyStripeSignature(body, `t=${now}`, { secret })).toBe('MALFORMED');
    expect(verifyStripeSignature(body, `v1=${'a'.repeat(64)}`, { secret })).toBe('MALFORMED');
  });
});

describe('the payment subgraph with Stripe under faults', () => {
  const env = { PAYMENT_PROVIDER: 'stripe', STRIPE_SECRET_KEY: SECRET, PAYMENT_PROVIDER_TIMEOUT_MS: '400' };

  it('a timeout: the order stays PENDING; the reconciler finds the PaymentIntent by its order id and marks it PAID once', async () => {
    const h = await startPayment({ env: { ...env, STRIPE_API_BASE: base } });
    try {
      const courseId = await h.publishCourse({ priceMinor: 1900 });
      const learner = await h.user();
      const res = await h.gql(
        CHECKOUT,
        { input: { courseId, idempotencyKey: newKey(), paymentMethod: 'pm_card_timeout' } },
        learner.token,
      );
      const order = res.body.data!.checkout.order;
      expect(order.status).toBe('PENDING');
      expect(await h.outbox(PaymentEvents.failed, order.id)).toEqual([]);
      expect(await h.reconcile([order.id])).toEqual({ checked: 1, resolved: 1 });
      expect(seen.some((r) => r.method === 'GET' && r.path.startsWith('/v1/payment_intents/search'))).toBe(true);
      const row = await h.orderRow(order.id);
      expect(row.status).toBe('PAID');
      const intent = [...intents.values()].find((i) => i.metadata.order_id === order.id)!;
      expect(await h.app.db.payment.findMany({ where: { orderId: order.id } })).toMatchObject([
        { status: 'SUCCEEDED', providerPaymentId: intent.id },
      ]);
      expect(await h.outbox(PaymentEvents.succeeded, order.id)).toHaveLength(1);
      expect((await h.ledgerOf(order.id)).sums).toEqual({ USD: 0 });
    } finally {
      await h.close();
    }
  });

  it('one key sent twice at once: Stripe answers the second 409 (in progress); one PaymentIntent, one PAID order, one event', async () => {
    const h = await startPayment({ env: { ...env, STRIPE_API_BASE: base } });
    try {
      const courseId = await h.publishCourse({ priceMinor: 2100 });
      const learner = await h.user();
      const input = { courseId, idempotencyKey: newKey(), paymentMethod: 'pm_card_slow' };
      const results = await Promise.all([
        h.gql(CHECKOUT, { input }, learner.token),
        h.gql(CHECKOUT, { input }, learner.token),
      ]);
      for (const r of results) expect(r.body.errors).toBeUndefined();
      const orderId = results[0]!.body.data!.checkout.order.id;
      expect(results[1]!.body.data!.checkout.order.id).toBe(orderId);
      expect(seen.filter((r) => r.path === '/v1/payment_intents').length).toBe(2);
      expect([...intents.values()].filter((i) => i.metadata.order_id === orderId)).toHaveLength(1);
      await h.reconcile([orderId]);
      expect((await h.orderRow(orderId)).status).toBe('PAID');
      expect(await h.outbox(PaymentEvents.succeeded, orderId)).toHaveLength(1);
      expect((await h.ledgerOf(orderId)).sums).toEqual({ USD: 0 });
    } finally {
      await h.close();
    }
  });
});
