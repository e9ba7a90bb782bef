/**
 * POST /webhooks/stripe: Stripe calls the payment service here directly (through the ingress, not
 * the GraphQL gateway, which serves only /graphql). The raw body's `Stripe-Signature` is verified
 * before anything is parsed; a missing, forged or stale signature is 400 and changes nothing. A
 * verified event is applied once (domain/webhooks.ts) and answered 200; a failure to apply it is
 * 500, so Stripe delivers it again. Without STRIPE_WEBHOOK_SECRET the endpoint answers 503.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@coursegraph/service-kit';
import { verifyStripeSignature } from '../providers/stripe-webhook-signature.js';
import type { ProviderEvent, Webhooks } from '../domain/webhooks.js';

export const STRIPE_WEBHOOK_PATH = '/webhooks/stripe';
/** Stripe's events are a few kilobytes; anything far larger is not one. */
const MAX_BODY_BYTES = 256 * 1024;

export interface StripeWebhookOptions {
  /** STRIPE_WEBHOOK_SECRET; empty: the endpoint is not configured (503). */
  secret: string;
  /** PAYMENT_WEBHOOK_TOLERANCE_S. Default 300. */
  toleranceSeconds?: number;
  webhooks: Webhooks;
  logger: Logger;
  /** Called after an event queued work for the reconciler (a late capture to refund). */
  onQueuedWork?: () => void;
}

export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** The endpoint, independent of the HTTP server: method, the signature header and the raw body in, an answer out. */
export async function handleStripeWebhook(
  options: StripeWebhookOptions,
  method: string,
  signature: string | null,
  rawBody: string | null,
): Promise<WebhookAnswer> {
  if (method !== 'POST') return { status: 405, body: { error: 'Use POST.' } };
  if (!options.secret) {
    options.logger.error('a Stripe webhook arrived but STRIPE_WEBHOOK_SECRET is not set; answered 503');
    return { status: 503, body: { error: 'The webhook endpoint is not configured.' } };
  }
  if (rawBody === null) return { status: 413, body: { error: `The body exceeds ${MAX_BODY_BYTES} bytes.` } };
  const problem = verifyStripeSignature(rawBody, signature, {
    secret: options.secret,
    toleranceSeconds: options.toleranceSeconds,
  });
  if (problem) {
    options.logger.warn({ reason: problem }, 'Stripe webhook refused: bad signature');
    return { status: 400, body: { error: 'The Stripe-Signature header does not verify.', reason: problem } };
  }
  let event: ProviderEvent;
  try {
    event = JSON.parse(rawBody) as ProviderEvent;
  } catch {
    return { status: 400, body: { error: 'The body is not JSON.' } };
  }
  if (
    typeof event?.id !== 'string' ||
    !/^[\w-]{1,255}$/.test(event.id) ||
    typeof event.type !== 'string' ||
    typeof event.data?.object !== 'object' ||
    event.data.object === null
  ) {
    return { status: 400, body: { error: 'The body is not a Stripe event (id, type, data.object).' } };
  }
  try {
    const result = await options.webhooks.apply(event);
    if (result.lateCapture) options.onQueuedWork?.();
    options.logger.info(
      { eventId: event.id, type: event.type, result: result.status, detail: result.detail },
      'Stripe webhook',
    );
    return { status: 200, body: { received: true, result: result.status } };
  } catch (err) {
    options.logger.error(
      { err, eventId: event.id, type: event.type },
      'Stripe webhook could not be applied; Stripe will retry',
    );
    return { status: 500, body: { error: 'The event could not be applied; it will be retried.' } };
  }
}

/** Fetch-style adapter (tests call it in-process). */
export function stripeWebhookFetch(options: StripeWebhookOptions) {
  return async (request: Request): Promise<Response> => {
    const raw = await request.text();
    const answer = await handleStripeWebhook(
      options,
      request.method,
      request.headers.get('stripe-signature'),
      Buffer.byteLength(raw) > MAX_BODY_BYTES ? null : raw,
    );
    return Response.json(answer.body, { status: answer.status });
  };
}

/** node:http adapter (the served app routes STRIPE_WEBHOOK_PATH here). */
export function stripeWebhookNode(options: StripeWebhookOptions) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => {
      const signature = req.headers['stripe-signature'];
      void handleStripeWebhook(
        options,
        req.method ?? '',
        typeof signature === 'string' ? signature : null,
        tooLarge ? null : Buffer.concat(chunks).toString('utf8'),
      ).then((answer) => {
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      });
    });
    req.on('error', () => res.destroy());
  };
}
