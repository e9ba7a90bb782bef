/**
 * Who is calling the gateway: an access token from `Authorization: Bearer`, or, for admins using
 * the explorer in a browser, from the explorer's cookie. Verified once per request and shared by
 * the context, the explorer gate and the introspection gate.
 *
 * The cookie is ambient (a browser attaches it to any request to this host, whoever's page sends
 * it), so it counts only on requests that also carry the explorer's own header. A header of our
 * own cannot be set cross-site without a CORS preflight, which the gateway answers only for the
 * configured origins; a cross-site form or fetch riding on the cookie is simply anonymous.
 */
import { bearerToken, type AuthVerifier, type Viewer } from '@coursegraph/service-kit';

/** `__Host-`: the browser keeps it only if Secure, Path=/ and host-only (no Domain), so no sibling host can set or shadow it. */
export const EXPLORER_COOKIE = '__Host-cg_explorer';
/** Sent by the explorer's GraphiQL and sign-in page on each request, and required for the cookie to count. */
export const EXPLORER_HEADER = 'x-coursegraph-explorer';

export interface RequestAuth {
  viewer: Viewer | null;
  token: string | null;
}

export function explorerCookieToken(request: Request): string | null {
  const cookies = request.headers.get('cookie');
  if (!cookies) return null;
  for (const part of cookies.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === EXPLORER_COOKIE) return value.join('=') || null;
  }
  return null;
}

/** True when the request says it comes from the explorer (its own header). */
export const fromExplorer = (request: Request): boolean => request.headers.get(EXPLORER_HEADER) === '1';

export function createRequestAuth(verifier: AuthVerifier) {
  const seen = new WeakMap<Request, Promise<RequestAuth>>();
  async function resolve(request: Request): Promise<RequestAuth> {
    const token = bearerToken(request) ?? (fromExplorer(request) ? explorerCookieToken(request) : null);
    if (!token) return { viewer: null, token: null };
    return { viewer: await verifier.verify(token), token };
  }
  /** The request's verified caller; rejects with UNAUTHENTICATED when a token is sent but bad. */
  const auth = (request: Request): Promise<RequestAuth> => {
    let found = seen.get(request);
    if (!found) {
      found = resolve(request);
      seen.set(request, found);
    }
    return found;
  };
  /**
   * The cookie's viewer on its own, header or not: only for deciding which page a browser
   * navigation gets (the explorer or the sign-in page), since a navigation cannot send a header.
   * The page holds no data; everything it then asks for goes through `auth`.
   */
  auth.explorerPageViewer = async (request: Request): Promise<Viewer | null> => {
    const token = explorerCookieToken(request);
    return token ? verifier.verify(token).catch(() => null) : null;
  };
  return auth;
}

export type RequestAuthResolver = ReturnType<typeof createRequestAuth>;

/** True when the request comes from a verified admin; false for anonymous or bad tokens. */
export async function isAdmin(auth: RequestAuthResolver, request: Request): Promise<boolean> {
  try {
    return (await auth(request)).viewer?.role === 'ADMIN';
  } catch {
    return false;
  }
}
