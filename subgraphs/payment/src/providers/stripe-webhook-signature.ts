/**
 * Stripe's webhook signature: the `Stripe-Signature` header is `t=<unix seconds>,v1=<hex>[,v1=...]`
 * where each v1 is HMAC-SHA256 over `${t}.${raw body}` keyed with the endpoint's secret (whsec_...).
 * A signature is accepted when one v1 matches (compared in constant time) and t is within the
 * tolerance of now, so a captured request cannot be replayed later.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureProblem = 'MISSING' | 'MALFORMED' | 'STALE' | 'MISMATCH';

export interface VerifyOptions {
  /** The endpoint's signing secret. */
  secret: string;
  /** How far t may be from now, in seconds. Default 300 (Stripe's own libraries use the same). */
  toleranceSeconds?: number;
  /** Default Date.now(); tests set it. */
  nowMs?: number;
}

/** Null when the signature is good; else why it is refused. */
export function verifyStripeSignature(
  payload: string,
  header: string | null,
  options: VerifyOptions,
): SignatureProblem | null {
  if (!header) return 'MISSING';
  let timestamp: number | null = null;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) signatures.push(Buffer.from(value, 'hex'));
  }
  if (timestamp === null || signatures.length === 0) return 'MALFORMED';
  const expected = Buffer.from(signStripePayload(payload, timestamp, options.secret), 'hex');
  if (!signatures.some((s) => timingSafeEqual(s, expected))) return 'MISMATCH';
  const now = Math.floor((options.nowMs ?? Date.now()) / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return 'STALE';
  return null;
}

/** The hex v1 signature of a payload at `timestamp` (also what tests sign with). */
export function signStripePayload(payload: string, timestamp: number, secret: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
}

/** A whole `Stripe-Signature` header value, as Stripe would send it. */
export function stripeSignatureHeader(
  payload: string,
  secret: string,
  timestamp = Math.floor(Date.now() / 1000),
): string {
  return `t=${timestamp},v1=${signStripePayload(payload, timestamp, secret)}`;
}
