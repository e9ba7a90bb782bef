/**
 * Who is calling the gateway: an access token from `Authorization: Bearer`, or, for admins using
 * the explorer in a browser, from the explorer's HttpOnly same-site cookie. Verified once per
 * request and shared by the context, the explorer gate and the introspection gate.
 */
import { bearerToken, type AuthVerifier, type Viewer } from '@coursegraph/service-kit';

export const EXPLORER_COOKIE = 'cg_explorer';

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

export function createRequestAuth(verifier: AuthVerifier) {
  const seen = new WeakMap<Request, Promise<RequestAuth>>();
  async function resolve(request: Request): Promise<RequestAuth> {
    const token = bearerToken(request) ?? explorerCookieToken(request);
    if (!token) return { viewer: null, token: null };
    return { viewer: await verifier.verify(token), token };
  }
  /** The request's verified caller; rejects with UNAUTHENTICATED when a token is sent but bad. */
  return (request: Request): Promise<RequestAuth> => {
    let auth = seen.get(request);
    if (!auth) {
      auth = resolve(request);
      seen.set(request, auth);
    }
    return auth;
  };
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
