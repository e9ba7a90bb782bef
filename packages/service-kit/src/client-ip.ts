/**
 * The client's IP address as the gateway saw it, handed to subgraphs signed: `x-client-ip` plus
 * `x-client-ip-signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over the time, the address and the
 * request id, keyed by INTERNAL_SIGNING_SECRET. A subgraph believes the address only with a valid,
 * fresh signature for this very request id; a client calling a subgraph directly cannot forge one,
 * and a captured pair is worth at most `maxAgeSeconds` for one request id.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

export const CLIENT_IP_HEADER = 'x-client-ip';
export const CLIENT_IP_SIGNATURE_HEADER = 'x-client-ip-signature';

/** How long a signature is accepted after it was made (and before, for clock skew). Default 60 s. */
export const CLIENT_IP_MAX_AGE_SECONDS = 60;

const mac = (secret: string, time: number, ip: string, requestId: string) =>
  createHmac('sha256', secret).update(`${time}\n${ip}\n${requestId}`).digest('hex');

/** The two headers that carry `ip` for the request `requestId`, signed now (or at `nowMs`). */
export function signClientIp(
  secret: string,
  ip: string,
  requestId: string,
  nowMs = Date.now(),
): Record<string, string> {
  const time = Math.floor(nowMs / 1000);
  return { [CLIENT_IP_HEADER]: ip, [CLIENT_IP_SIGNATURE_HEADER]: `t=${time},v1=${mac(secret, time, ip, requestId)}` };
}

export interface VerifyClientIpOptions {
  /** Signatures older (or further in the future) than this are refused. Default CLIENT_IP_MAX_AGE_SECONDS. */
  maxAgeSeconds?: number;
  /** The current time, for tests. Default Date.now(). */
  nowMs?: number;
}

/**
 * The signed client address of `headers` (a request to a subgraph), or null when there is none,
 * or the signature is missing, malformed, stale, or made for other values (a direct caller, or
 * a tampered header): the caller then has no verified address.
 */
export function verifiedClientIp(headers: Headers, secret: string, options: VerifyClientIpOptions = {}): string | null {
  const ip = headers.get(CLIENT_IP_HEADER);
  const signature = headers.get(CLIENT_IP_SIGNATURE_HEADER);
  if (!ip || !signature || isIP(ip) === 0) return null;
  const match = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(signature);
  if (!match) return null;
  const time = Number(match[1]);
  const nowSeconds = Math.floor((options.nowMs ?? Date.now()) / 1000);
  if (Math.abs(nowSeconds - time) > (options.maxAgeSeconds ?? CLIENT_IP_MAX_AGE_SECONDS)) return null;
  const expected = Buffer.from(mac(secret, time, ip, headers.get('x-request-id') ?? ''), 'hex');
  return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex')) ? ip : null;
}
