/**
 * Who opens a stream, and until when: a verified access token (or none), the instant it expires,
 * and its revocation (signed out, deactivated, role changed), checked again at an interval while the
 * stream is open. Either ends the stream with a clear reason instead of serving a stale caller.
 */
import { decodeJwt } from 'jose';
import { GraphQLError } from 'graphql';
import { ErrorCode, unauthenticated, type AuthVerifier, type Logger } from '@coursegraph/service-kit';
import type { StreamEndReason } from './stream-ended.js';
import type { Caller } from './subscribe.js';

export interface VerifiedCaller extends Caller {
  /** Milliseconds since the epoch when the token expires; null when anonymous. */
  expiresAtMs: number | null;
}

export const TOKEN_EXPIRED_REASON =
  'The access token has expired; reconnect with a fresh token and the position of the last event you received.';
// Both fit a WebSocket close reason (123 bytes).
export const TOKEN_REVOKED_REASON =
  'The access token has been revoked; sign in again and reconnect with the position of the last event you received.';

export type CallerEnd = { reason: Extract<StreamEndReason, 'TOKEN_EXPIRED' | 'TOKEN_REVOKED'>; message: string };

/** `Bearer <token>` (or a bare token) → the verified caller; no value → anonymous. Throws UNAUTHENTICATED. */
export async function verifyCaller(verifier: AuthVerifier, authorization: unknown): Promise<VerifiedCaller> {
  if (authorization === undefined || authorization === null || authorization === '')
    return { viewer: null, token: null, expiresAtMs: null };
  if (typeof authorization !== 'string')
    throw unauthenticated('The authorization must be a string "Bearer <access token>".');
  const match = /^(?:Bearer\s+)?(\S+)$/i.exec(authorization.trim());
  if (!match) throw unauthenticated('The authorization must be "Bearer <access token>".');
  const token = match[1]!;
  const viewer = await verifier.verify(token);
  const { exp } = decodeJwt(token);
  return { viewer, token, expiresAtMs: typeof exp === 'number' ? exp * 1000 : null };
}

export interface WatchOptions {
  verifier: AuthVerifier;
  /** How often a signed-in caller's token is verified again (revocation). */
  recheckMs: number;
  logger: Logger;
}

/**
 * Calls `onEnd` once, when the caller's token expires or is found revoked on one of the periodic
 * checks; returns the cancel function. A check that fails for another reason (Redis unreachable)
 * keeps the stream: the next check decides.
 */
export function watchCaller(
  caller: VerifiedCaller,
  { verifier, recheckMs, logger }: WatchOptions,
  onEnd: (end: CallerEnd) => void,
): () => void {
  if (caller.expiresAtMs === null || caller.token === null) return () => undefined;
  const token = caller.token;
  let done = false;
  const end = (ending: CallerEnd) => {
    if (done) return;
    cancel();
    onEnd(ending);
  };
  const expiry = setTimeout(
    () => end({ reason: 'TOKEN_EXPIRED', message: TOKEN_EXPIRED_REASON }),
    Math.max(0, caller.expiresAtMs - Date.now()),
  );
  const recheck = setInterval(() => {
    verifier.verify(token).catch((err: unknown) => {
      if (done) return;
      const message = err instanceof Error ? err.message : String(err);
      if (!(err instanceof GraphQLError) || err.extensions?.code !== ErrorCode.UNAUTHENTICATED) {
        logger.warn({ err: message }, 'subscription: could not check the caller again; keeping the stream');
        return;
      }
      end(
        /expired/.test(message)
          ? { reason: 'TOKEN_EXPIRED', message: TOKEN_EXPIRED_REASON }
          : { reason: 'TOKEN_REVOKED', message: TOKEN_REVOKED_REASON },
      );
    });
  }, recheckMs);
  expiry.unref();
  recheck.unref();
  function cancel() {
    done = true;
    clearTimeout(expiry);
    clearInterval(recheck);
  }
  return cancel;
}
