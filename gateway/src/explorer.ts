/**
 * The GraphQL explorer (GraphiQL) at GET /graphql, for admins only. A browser without an admin
 * session gets a sign-in page instead; signing in sets an HttpOnly, SameSite=Strict cookie holding
 * the admin's access token, which the gateway accepts like a bearer token.
 */
import type { Plugin } from 'graphql-yoga';
import { EXPLORER_COOKIE, isAdmin, type RequestAuthResolver } from './request-auth.js';

const LOG_IN = `mutation ExplorerLogIn($input: LogInInput!) {
  logIn(input: $input) { accessToken accessTokenExpiresAt user { role } }
}`;

const SIGN_IN_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Coursegraph explorer</title>
<style>body{font:16px system-ui;max-width:22rem;margin:4rem auto}input,button{display:block;width:100%;margin:.4rem 0;padding:.5rem}#error{color:#b00}</style>
</head><body>
<h1>Coursegraph explorer</h1>
<p>The GraphQL explorer is for admins. Sign in with an admin account.</p>
<form id="f"><input name="email" type="email" placeholder="Email" required autocomplete="username">
<input name="password" type="password" placeholder="Password" required autocomplete="current-password">
<button>Sign in</button></form><p id="error" role="alert"></p>
<script>
document.getElementById('f').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  const res = await fetch('/explorer/session', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: form.get('email'), password: form.get('password') }) });
  if (res.ok) location.reload(); else document.getElementById('error').textContent = (await res.json()).error;
});
</script></body></html>`;

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

/** The graphiql option: the explorer renders only for admins. */
export const explorerFor = (auth: RequestAuthResolver) => async (request: Request) =>
  (await isAdmin(auth, request)) ? { title: 'Coursegraph explorer', credentials: 'same-origin' as const } : false;

export interface ExplorerSignInOptions {
  auth: RequestAuthResolver;
  graphqlEndpoint: string;
  /** Adds `Secure` to the cookie (production, behind TLS). */
  secureCookie: boolean;
  /** The gateway's own fetch, to run logIn in-process through the graph. */
  selfFetch: () => (url: string, init: RequestInit) => Promise<Response>;
}

export function useExplorerSignIn({ auth, graphqlEndpoint, secureCookie, selfFetch }: ExplorerSignInOptions): Plugin {
  return {
    async onRequest({ request, url, endResponse }) {
      if (url.pathname === graphqlEndpoint && request.method === 'GET' && !url.searchParams.has('query')) {
        const wantsHtml = request.headers.get('accept')?.includes('text/html');
        if (wantsHtml && !(await isAdmin(auth, request))) {
          endResponse(new Response(SIGN_IN_PAGE, { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' } }));
        }
        return;
      }
      if (url.pathname === '/explorer/session' && request.method === 'POST') {
        const body = (await request.json().catch(() => null)) as { email?: unknown; password?: unknown } | null;
        if (typeof body?.email !== 'string' || typeof body.password !== 'string') {
          return endResponse(json(400, { error: 'Send {"email": ..., "password": ...} as JSON.' }));
        }
        // Sign in through the graph itself, so the explorer uses exactly the public logIn rules.
        const result = await selfFetch()(`http://gateway.internal${graphqlEndpoint}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
          body: JSON.stringify({ query: LOG_IN, variables: { input: { email: body.email, password: body.password } } }),
        });
        const payload = (await result.json()) as {
          data?: { logIn?: { accessToken: string; accessTokenExpiresAt: string; user: { role: string } } };
          errors?: { message: string }[];
        };
        const login = payload.data?.logIn;
        if (!login) return endResponse(json(401, { error: payload.errors?.[0]?.message ?? 'Sign-in failed.' }));
        if (login.user.role !== 'ADMIN') return endResponse(json(403, { error: 'The explorer is for admins only.' }));
        const maxAge = Math.max(0, Math.floor((Date.parse(login.accessTokenExpiresAt) - Date.now()) / 1000));
        const cookie = `${EXPLORER_COOKIE}=${login.accessToken}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}${secureCookie ? '; Secure' : ''}`;
        return endResponse(json(200, { ok: true }, { 'set-cookie': cookie }));
      }
      if (url.pathname === '/explorer/logout' && request.method === 'POST') {
        return endResponse(json(200, { ok: true }, { 'set-cookie': `${EXPLORER_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0` }));
      }
    },
  };
}
