/**
 * The GraphQL explorer (GraphiQL) at GET /graphql, for admins only, with a "Sign out" button. Its
 * files are the gateway's own (explorer-assets.ts): the page loads nothing from another origin, and
 * says so in its Content-Security-Policy. A browser without an admin session gets a sign-in page
 * instead; signing in sets a `__Host-` cookie (HttpOnly, Secure,
 * SameSite=Strict) holding the admin's access token, which the gateway accepts like a bearer token
 * on the explorer's own requests only: those carrying its header (request-auth.ts), which GraphiQL
 * sends with every fetch. `POST /explorer/logout` ends the session in identity, then drops the cookie.
 *
 * The cookie is always Secure: browsers keep Secure cookies set over plain http from localhost and
 * 127.0.0.1 (loopback counts as a secure context), so local development works; anywhere else the
 * explorer needs https.
 */
import type { Plugin } from 'graphql-yoga';
import { ASSETS_PATH, assetResponse } from './explorer-assets.js';
import {
  EXPLORER_COOKIE,
  EXPLORER_HEADER,
  fromExplorer,
  explorerCookieToken,
  type RequestAuthResolver,
} from './request-auth.js';

const LOG_IN = `mutation ExplorerLogIn($input: LogInInput!) {
  logIn(input: $input) { accessToken accessTokenExpiresAt user { role } }
}`;

const LOG_OUT = 'mutation ExplorerLogOut { logOut }';

/**
 * Both pages' policy: scripts, styles, workers, images and fetches from this origin only, and no
 * inline script (the pages' scripts are files under ASSETS_PATH; GraphiQL's options travel in a
 * JSON data block, which is not run). GraphiQL needs no 'unsafe-eval'. Styles allow 'unsafe-inline'
 * because Monaco, GraphiQL's editor, adds inline styles as it runs (the browser test sees them
 * refused without it); data: images and fonts are those GraphiQL's stylesheet embeds. No page may
 * frame the explorer, and no form submits natively (the sign-in form is posted as JSON by its script).
 */
export const EXPLORER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "worker-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const page = (html: string) =>
  new Response(html, {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': EXPLORER_CSP,
      // Which page it is depends on the session: never from a cache.
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  });

const SIGN_IN_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Coursegraph explorer</title>
<link rel="stylesheet" href="${ASSETS_PATH}explorer.css">
<script defer src="${ASSETS_PATH}sign-in.js"></script>
</head><body class="sign-in">
<h1>Coursegraph explorer</h1>
<p>The GraphQL explorer is for admins. Sign in with an admin account.</p>
<form id="f"><input name="email" type="email" placeholder="Email" required autocomplete="username">
<input name="password" type="password" placeholder="Password" required autocomplete="current-password">
<button>Sign in</button></form><p id="error" role="alert"></p>
</body></html>`;

/** GraphiQL's options: it sends the explorer's header, and the cookie, on every fetch. */
const GRAPHIQL_OPTIONS = {
  title: 'Coursegraph explorer',
  credentials: 'same-origin',
  additionalHeaders: { [EXPLORER_HEADER]: '1' },
};

const EXPLORER_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Coursegraph explorer</title>
<link rel="icon" href="${ASSETS_PATH}favicon.ico">
<link rel="stylesheet" href="${ASSETS_PATH}graphiql.css">
<link rel="stylesheet" href="${ASSETS_PATH}explorer.css">
<script id="graphiql-options" type="application/json">${JSON.stringify(GRAPHIQL_OPTIONS).replaceAll('<', '\\u003c')}</script>
<script defer src="${ASSETS_PATH}graphiql.js"></script>
<script defer src="${ASSETS_PATH}explorer.js"></script>
</head><body class="explorer">
<header><span>Coursegraph explorer</span><button id="sign-out" type="button">Sign out</button></header>
<noscript>The explorer (GraphiQL) needs JavaScript.</noscript>
<div id="root"></div>
</body></html>`;

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

/** A page navigation sends no header of ours: which page it gets is decided by the cookie alone. */
const pageForAdmin = async (auth: RequestAuthResolver, request: Request) =>
  (await auth.explorerPageViewer(request))?.role === 'ADMIN';

export interface ExplorerSignInOptions {
  auth: RequestAuthResolver;
  graphqlEndpoint: string;
  /**
   * The gateway's own fetch, to run logIn and logOut in-process through the graph; `onBehalfOf`
   * is the browser's client address, so identity counts its sign-ins per IP like any other.
   */
  selfFetch: () => (url: string, init: RequestInit, onBehalfOf: string | null) => Promise<Response>;
  /** The client address of a request (client-ip.ts), or null when it has none. */
  clientIpOf: (request: Request) => string | null;
}

const clearCookie = `${EXPLORER_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0`;

export function useExplorerSignIn({ auth, graphqlEndpoint, selfFetch, clientIpOf }: ExplorerSignInOptions): Plugin {
  const throughGraph = (browser: Request, query: string, variables: Record<string, unknown>, token?: string) =>
    selfFetch()(
      `http://gateway.internal${graphqlEndpoint}`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      },
      clientIpOf(browser),
    );
  return {
    async onRequest({ request, url, endResponse }) {
      // A browser's navigation to the endpoint (yoga's own rule for GraphiQL): the explorer or the sign-in page.
      if (
        url.pathname === graphqlEndpoint &&
        request.method === 'GET' &&
        request.headers.get('accept')?.includes('text/html')
      ) {
        return endResponse(page((await pageForAdmin(auth, request)) ? EXPLORER_PAGE : SIGN_IN_PAGE));
      }
      if (url.pathname.startsWith(ASSETS_PATH) && request.method === 'GET') {
        const res = await assetResponse(request, url.pathname.slice(ASSETS_PATH.length));
        return endResponse(res ?? json(404, { error: 'No such file.' }));
      }
      if (url.pathname === '/explorer/session' && request.method === 'POST') {
        // JSON only: a cross-site form cannot send it without a preflight (no sign-in CSRF).
        if (!/^application\/json\s*(;|$)/i.test(request.headers.get('content-type') ?? '')) {
          return endResponse(json(415, { error: 'Send {"email": ..., "password": ...} as application/json.' }));
        }
        const body = (await request.json().catch(() => null)) as { email?: unknown; password?: unknown } | null;
        if (typeof body?.email !== 'string' || typeof body.password !== 'string') {
          return endResponse(json(400, { error: 'Send {"email": ..., "password": ...} as JSON.' }));
        }
        // Sign in through the graph itself, so the explorer uses exactly the public logIn rules.
        const result = await throughGraph(request, LOG_IN, { input: { email: body.email, password: body.password } });
        const payload = (await result.json()) as {
          data?: { logIn?: { accessToken: string; accessTokenExpiresAt: string; user: { role: string | null } } };
          errors?: { message: string }[];
        };
        const login = payload.data?.logIn;
        if (!login) return endResponse(json(401, { error: payload.errors?.[0]?.message ?? 'Sign-in failed.' }));
        // The payload's user is the caller, just signed in, so identity shows their role (null only for others).
        if (login.user.role !== 'ADMIN') return endResponse(json(403, { error: 'The explorer is for admins only.' }));
        const maxAge = Math.max(0, Math.floor((Date.parse(login.accessTokenExpiresAt) - Date.now()) / 1000));
        const cookie = `${EXPLORER_COOKIE}=${login.accessToken}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=${maxAge}`;
        return endResponse(json(200, { ok: true }, { 'set-cookie': cookie }));
      }
      if (url.pathname === '/explorer/logout' && request.method === 'POST') {
        // Only the explorer may end its session: a cross-site page cannot send this header.
        if (!fromExplorer(request))
          return endResponse(json(403, { error: `Log out from the explorer (it sends ${EXPLORER_HEADER}: 1).` }));
        const token = explorerCookieToken(request);
        let revoked = false;
        if (token) {
          // End the session in identity (refresh token and access tokens), not just in this browser.
          const payload = (await (await throughGraph(request, LOG_OUT, {}, token)).json()) as {
            data?: { logOut?: boolean };
          };
          revoked = payload.data?.logOut === true;
        }
        return endResponse(json(200, { ok: true, revoked }, { 'set-cookie': clearCookie }));
      }
    },
  };
}
