/**
 * Who opens a stream, and until when: a verified access token (or none), and the instant it
 * expires, when the gateway ends the stream with a clear reason instead of serving a stale caller.
 */
import { decodeJwt } from 'jose';
import { unauthenticated, type AuthVerifier } from '@coursegraph/service-kit';
import type { Caller } from './subscribe.js';

export interface VerifiedCaller extends Caller {
  /** Milliseconds since the epoch when the token expires; null when anonymous. */
  expiresAtMs: number | null;
}

export const TOKEN_EXPIRED_REASON = 'The access token has expired; reconnect with a fresh token and the position of the last event you received.';

/** `Bearer <token>` (or a bare token) → the verified caller; no value → anonymous. Throws UNAUTHENTICATED. */
export async function verifyCaller(verifier: AuthVerifier, authorization: unknown): Promise<VerifiedCaller> {
  if (authorization === undefined || authorization === null || authorization === '') return { viewer: null, token: null, expiresAtMs: null };
  if (typeof authorization !== 'string') throw unauthenticated('The authorization must be a string "Bearer <access token>".');
  const match = /^(?:Bearer\s+)?(\S+)$/i.exec(authorization.trim());
  if (!match) throw unauthenticated('The authorization must be "Bearer <access token>".');
  const token = match[1]!;
  const viewer = await verifier.verify(token);
  const { exp } = decodeJwt(token);
  return { viewer, token, expiresAtMs: typeof exp === 'number' ? exp * 1000 : null };
}

/** Calls `onExpired` when the caller's token expires; returns the cancel function. */
export function whenExpired(caller: VerifiedCaller, onExpired: () => void): () => void {
  if (caller.expiresAtMs === null) return () => undefined;
  const timer = setTimeout(onExpired, Math.max(0, caller.expiresAtMs - Date.now()));
  timer.unref();
  return () => clearTimeout(timer);
}
