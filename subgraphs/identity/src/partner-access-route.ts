/**
 * `GET /internal/partner-access/<keyHash>`: how the gateway learns which partner an API key is and
 * which documents it may run. Not part of the graph: it answers only a request signed with
 * INTERNAL_SIGNING_SECRET (service-kit internal-signature.ts), so a client reaching identity
 * directly cannot probe for keys. 200 with the partner, 404 for an unknown or revoked key.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { verifyInternalRequest, type Logger } from '@coursegraph/service-kit';
import type { Partners } from './domain/partners.js';

export const PARTNER_ACCESS_PATH = '/internal/partner-access/';

const KEY_HASH = /^[0-9a-f]{64}$/;

function answer(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function headersOf(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers.set(name, value);
  }
  return headers;
}

/** A handler for the route: false when the request is for another path (yoga's). */
export function partnerAccessRoute(partners: Partners, secret: string, logger: Logger) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = new URL(req.url ?? '/', 'http://identity.internal').pathname;
    if (!path.startsWith(PARTNER_ACCESS_PATH)) return false;
    if (req.method !== 'GET') {
      answer(res, 405, { error: 'only GET' });
      return true;
    }
    if (!verifyInternalRequest(headersOf(req), path, secret)) {
      answer(res, 401, { error: 'a valid x-internal-signature is required' });
      return true;
    }
    const keyHash = path.slice(PARTNER_ACCESS_PATH.length);
    if (!KEY_HASH.test(keyHash)) {
      answer(res, 400, { error: 'the key hash is 64 lowercase hex characters (sha256 of the key)' });
      return true;
    }
    partners.access(keyHash).then(
      (access) => (access ? answer(res, 200, access) : answer(res, 404, { error: 'unknown or revoked key' })),
      (err: unknown) => {
        logger.error({ err }, 'partner access look-up failed');
        answer(res, 500, { error: 'the look-up failed' });
      },
    );
    return true;
  };
}
