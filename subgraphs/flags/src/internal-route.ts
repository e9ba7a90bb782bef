/**
 * `GET /internal/flags`: every flag (deleted ones as tombstones, with their version), which each
 * service's flags client loads at start, on its timer and after a NATS reconnect
 * (packages/service-kit/src/flags/client.ts). Not part of the graph: it answers only a request
 * signed with INTERNAL_SIGNING_SECRET (service-kit internal-signature.ts), as identity's
 * /internal/partner-access does, so a client reaching flags directly cannot read the targeting rules.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FLAGS_INTERNAL_PATH, verifyInternalRequest, type Logger } from '@coursegraph/service-kit';
import type { Flags } from './domain/flags.js';

function answer(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function headersOf(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
  return headers;
}

/** A handler for the route: false when the request is for another path (yoga's). */
export function flagsRoute(flags: Flags, secret: string, logger: Logger) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = new URL(req.url ?? '/', 'http://flags.internal').pathname;
    if (path !== FLAGS_INTERNAL_PATH) return false;
    if (req.method !== 'GET') {
      answer(res, 405, { error: 'only GET' });
      return true;
    }
    if (!verifyInternalRequest(headersOf(req), path, secret)) {
      answer(res, 401, { error: 'a valid x-internal-signature is required' });
      return true;
    }
    flags.forServices().then(
      (list) => answer(res, 200, { flags: list }),
      (err: unknown) => {
        logger.error({ err }, 'flags look-up failed');
        answer(res, 500, { error: 'the look-up failed' });
      },
    );
    return true;
  };
}
