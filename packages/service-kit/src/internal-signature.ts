/**
 * Signed internal requests: a service asking another over plain HTTP (the gateway asking identity
 * which partner owns an API key) signs the path with INTERNAL_SIGNING_SECRET in the header
 * `x-internal-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>\n<path>">`. The receiver
 * answers only a valid signature made within `maxAgeSeconds` (either side, for clock skew): a
 * client reaching the service directly cannot forge one, and a captured header is worth one path
 * for at most that long. The same scheme as client-ip.ts.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const INTERNAL_SIGNATURE_HEADER = 'x-internal-signature';

/** How long a signature is accepted after it was made (and before, for clock skew). Default 60 s. */
export const INTERNAL_SIGNATURE_MAX_AGE_SECONDS = 60;

const mac = (secret: string, time: number, path: string) =>
  createHmac('sha256', secret).update(`${time}\n${path}`).digest('hex');

/** The header that signs a request for `path` (the URL path, without the origin), now (or at `nowMs`). */
export function signInternalRequest(secret: string, path: string, nowMs = Date.now()): Record<string, string> {
  const time = Math.floor(nowMs / 1000);
  return { [INTERNAL_SIGNATURE_HEADER]: `t=${time},v1=${mac(secret, time, path)}` };
}

export interface VerifyInternalRequestOptions {
  /** Signatures older (or further in the future) than this are refused. Default INTERNAL_SIGNATURE_MAX_AGE_SECONDS. */
  maxAgeSeconds?: number;
  /** The current time, for tests. Default Date.now(). */
  nowMs?: number;
}

/** True when `headers` carry a valid, fresh signature for `path`; false when missing, malformed, stale or for another path. */
export function verifyInternalRequest(
  headers: Headers,
  path: string,
  secret: string,
  options: VerifyInternalRequestOptions = {},
): boolean {
  const match = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(headers.get(INTERNAL_SIGNATURE_HEADER) ?? '');
  if (!match) return false;
  const time = Number(match[1]);
  const nowSeconds = Math.floor((options.nowMs ?? Date.now()) / 1000);
  if (Math.abs(nowSeconds - time) > (options.maxAgeSeconds ?? INTERNAL_SIGNATURE_MAX_AGE_SECONDS)) return false;
  return timingSafeEqual(Buffer.from(mac(secret, time, path), 'hex'), Buffer.from(match[2]!, 'hex'));
}
