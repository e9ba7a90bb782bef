/**
 * Browser rules for the one endpoint: which pages may read its answers (CORS from an explicit
 * allow-list), and the Vary header that keeps caches from mixing answers made for different origins.
 */
import type { Plugin } from 'graphql-yoga';

/**
 * yoga's `cors` option for an exact allow-list: an allowed origin gets CORS headers (preflights
 * included) for GET and POST with the headers clients send; any other origin, and a request with no
 * Origin, gets none, so a browser keeps that page from reading the answer or sending a non-simple
 * request. No credentials: browsers call with bearer tokens, never with the explorer's cookie.
 */
export function corsAllowList(origins: readonly string[]) {
  const allowed = new Set(origins);
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (!origin || !allowed.has(origin)) return false as const;
    return {
      origin: [origin],
      methods: ['GET', 'POST'],
      allowedHeaders: ['content-type', 'accept', 'authorization', 'x-request-id'],
      exposedHeaders: ['ratelimit', 'ratelimit-policy', 'retry-after', 'x-request-id'],
      credentials: false,
      maxAge: 600,
    };
  };
}

/** Answers differ by Origin (CORS headers or none): say so to every cache on the way. */
export function useVaryOrigin(): Plugin {
  return {
    onResponse({ request, response }) {
      if (!request.headers.has('origin')) return;
      const vary = response.headers.get('vary');
      if (!vary || !/(^|,)\s*origin\s*(,|$)/i.test(vary))
        response.headers.set('vary', vary ? `${vary}, Origin` : 'Origin');
    },
  };
}
