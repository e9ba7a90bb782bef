/**
 * Browser safety at the one endpoint, in-process (yoga.fetch) over the real identity subgraph
 * (served on a port, against the test database and Redis): the CORS allow-list, POSTs refused
 * unless JSON or GraphQL (415, nothing executed; subgraphs too), and the explorer's cookie, which
 * counts only on the explorer's own requests, is a Secure `__Host-` cookie, and whose logout ends
 * the session in identity. The last part does the same in Chromium (Debian's /usr/bin/chromium,
 * driven by playwright-core), with pages of two other sites: one listed in the CORS setting, one not.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createLogger, readConfig, serve, type RunningServer } from '@coursegraph/service-kit';
import { AUTH_FIELDS, contextDatabaseUrl, GOOD_PASSWORD, postGraphQL, uniqueEmail } from '@coursegraph/test-support';
import { identitySettings } from '../../subgraphs/identity/src/config.js';
import { createIdentityApp, type IdentityApp } from '../../subgraphs/identity/src/app.js';
import { gatewaySettings, parseOrigins } from '../src/config.js';
import { createGatewayApp } from '../src/app.js';
import { EXPLORER_COOKIE, EXPLORER_HEADER } from '../src/request-auth.js';

const APP_ORIGIN = 'https://app.coursegraph.test';
const ENDPOINT = 'http://gateway.test/graphql';

let identity: IdentityApp;
let identityServer: RunningServer;
let gateway: Awaited<ReturnType<typeof createGatewayApp>>;
let gatewayServer: RunningServer;
/** Pages of other sites (localhost is another site than 127.0.0.1, where the gateway is): one listed for CORS, one not. */
let partnerSite: http.Server;
let attackerSite: http.Server;
const siteUrl = (server: http.Server) => `http://localhost:${(server.address() as AddressInfo).port}`;

async function startSite(): Promise<http.Server> {
  const server = http.createServer((_req, res) =>
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end('<!doctype html><title>another site</title><body>another site</body>'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const call = (url: string, init: RequestInit = {}) => Promise.resolve(gateway.yoga.fetch(url, init));
const gql = (query: string, variables?: Record<string, unknown>, token?: string, headers?: Record<string, string>) =>
  postGraphQL(call, ENDPOINT, query, variables, token, headers);

beforeAll(async () => {
  const silent = createLogger('browser-safety-test', 'silent');
  const identityConfig = readConfig(identitySettings, {
    ...process.env,
    IDENTITY_DATABASE_URL: contextDatabaseUrl('identity'),
  });
  identity = await createIdentityApp(identityConfig, silent);
  identityServer = await serve({ logger: silent, port: 0, handler: identity.handler });
  partnerSite = await startSite();
  attackerSite = await startSite();
  // Read by the supergraph loader from the environment (this test file's own process).
  process.env.SUBGRAPH_IDENTITY_URL = `${identityServer.url}/graphql`;
  const config = readConfig(gatewaySettings, {
    ...process.env,
    IDENTITY_JWKS_URL: `${identityServer.url}/.well-known/jwks.json`,
    GATEWAY_CORS_ORIGINS: `${APP_ORIGIN}, ${siteUrl(partnerSite)}`,
  });
  gateway = await createGatewayApp(config, silent);
  gatewayServer = await serve({ logger: silent, port: 0, handler: gateway.handler });
});

afterAll(async () => {
  await gateway?.beforeDrain();
  await gatewayServer?.shutdown();
  await gateway?.close();
  partnerSite?.close();
  attackerSite?.close();
  await identityServer?.shutdown();
  await identity?.close();
});

async function signUp(tag: string) {
  const email = uniqueEmail(tag);
  const res = await gql(`mutation($input: SignUpInput!) { signUp(input: $input) { ${AUTH_FIELDS} } }`, {
    input: { email, password: GOOD_PASSWORD, name: `Browser ${tag}` },
  });
  expect(res.body.errors).toBeUndefined();
  return {
    email,
    userId: res.body.data!.signUp.user.id as string,
    accessToken: res.body.data!.signUp.accessToken as string,
  };
}

async function admin() {
  const user = await signUp('browser-admin');
  await identity.db.user.update({ where: { id: user.userId }, data: { role: 'ADMIN' } });
  // A token issued from now on carries the role.
  const login = await gql('mutation($input: LogInInput!) { logIn(input: $input) { accessToken } }', {
    input: { email: user.email, password: GOOD_PASSWORD },
  });
  return { ...user, accessToken: login.body.data!.logIn.accessToken as string };
}

/** Signs in to the explorer as `email`; returns the Set-Cookie header and the cookie to send back. */
async function explorerSession(email: string) {
  const res = await call('http://gateway.test/explorer/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json', [EXPLORER_HEADER]: '1' },
    body: JSON.stringify({ email, password: GOOD_PASSWORD }),
  });
  expect(res.status).toBe(200);
  const setCookie = res.headers.get('set-cookie')!;
  return {
    setCookie,
    cookie: setCookie.split(';')[0]!,
    token: setCookie.split(';')[0]!.slice(EXPLORER_COOKIE.length + 1),
  };
}

const usersWithEmail = async (adminToken: string, email: string) =>
  (await gql('query($e: String) { users(filter: { email: $e }) { totalCount } }', { e: email }, adminToken)).body.data!
    .users.totalCount as number;

describe('CORS: an explicit allow-list', () => {
  it('answers a preflight from a listed origin, and nothing to any other origin', async () => {
    const preflight = (origin: string) =>
      call(ENDPOINT, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, authorization',
        },
      });

    const allowed = await preflight(APP_ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(allowed.headers.get('access-control-allow-methods')).toBe('GET, POST');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
    // Browsers call with bearer tokens: credentials (the explorer's cookie) are never allowed.
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
    expect(allowed.headers.get('vary')).toMatch(/Origin/);

    for (const origin of [
      'https://evil.example',
      'https://app.coursegraph.test.evil.example',
      'http://app.coursegraph.test',
      'null',
    ]) {
      const refused = await preflight(origin);
      const corsHeaders = [...refused.headers.keys()].filter((name) => name.startsWith('access-control-'));
      expect(corsHeaders, origin).toEqual([]);
    }
  });

  it('a simple request from an unlisted origin is answered without CORS headers, so its page cannot read it', async () => {
    const res = await gql('{ __typename }', undefined, undefined, { origin: 'https://evil.example' });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    const listed = await gql('{ __typename }', undefined, undefined, { origin: APP_ORIGIN });
    expect(listed.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
  });

  it('the setting takes exact origins only', () => {
    expect(parseOrigins(' https://a.example ,http://localhost:5173')).toEqual([
      'https://a.example',
      'http://localhost:5173',
    ]);
    for (const bad of ['*', 'https://a.example/', 'https://a.example/app', 'a.example'])
      expect(() => parseOrigins(bad), bad).toThrow(/origin/);
  });
});

describe('CSRF: POST only as JSON or GraphQL', () => {
  const SIGN_UP = 'mutation($input: SignUpInput!) { signUp(input: $input) { user { id } } }';

  it('refuses form-encoded, multipart and text/plain POSTs with 415 before executing anything', async () => {
    const { accessToken } = await admin();
    const email = uniqueEmail('csrf-victim');
    const operation = { query: SIGN_UP, variables: { input: { email, password: GOOD_PASSWORD, name: 'Forged' } } };
    const form = new FormData();
    form.set('query', operation.query);
    form.set('variables', JSON.stringify(operation.variables));
    const bodies: [string, BodyInit, Record<string, string>][] = [
      [
        'application/x-www-form-urlencoded',
        new URLSearchParams({ query: operation.query, variables: JSON.stringify(operation.variables) }),
        {},
      ],
      ['multipart/form-data', form, {}],
      ['text/plain', JSON.stringify(operation), { 'content-type': 'text/plain;charset=UTF-8' }],
      ['no content type', new Blob([JSON.stringify(operation)]), {}],
    ];
    for (const [kind, body, headers] of bodies) {
      const res = await call(ENDPOINT, {
        method: 'POST',
        headers: { accept: 'application/graphql-response+json', ...headers },
        body,
      });
      expect(res.status, kind).toBe(415);
      const json = (await res.json()) as {
        data?: unknown;
        errors: { message: string; extensions: Record<string, unknown> }[];
      };
      expect(json.data, kind).toBeUndefined();
      expect(json.errors[0]!.extensions, kind).toEqual({ code: 'BAD_USER_INPUT', reason: 'UNSUPPORTED_MEDIA_TYPE' });
      expect(json.errors[0]!.message, kind).toMatch(/Content-Type: application\/json/);
    }
    // Nothing ran: no account was created by any of them.
    expect(await usersWithEmail(accessToken, email)).toBe(0);

    // The same operation as JSON is served.
    const json = await gql(SIGN_UP, operation.variables);
    expect(json.body.errors).toBeUndefined();
    expect(await usersWithEmail(accessToken, email)).toBe(1);
  });

  it('accepts the GraphQL media types, and GET stays for queries only (a mutation over GET is 405)', async () => {
    const graphql = await call(ENDPOINT, {
      method: 'POST',
      headers: { 'content-type': 'application/graphql; charset=utf-8', accept: 'application/json' },
      body: '{ __typename }',
    });
    expect(graphql.status).toBe(200);
    expect(await graphql.json()).toEqual({ data: { __typename: 'Query' } });
    const get = await call(`${ENDPOINT}?query=${encodeURIComponent('mutation { logOut }')}`, {
      headers: { accept: 'application/graphql-response+json' },
    });
    expect(get.status).toBe(405);
  });

  it('a subgraph reached directly applies the same rule', async () => {
    const res = await fetch(`${identityServer.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: '{ me { id } }' }),
    });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { errors: { extensions: unknown }[] }).errors[0]!.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'UNSUPPORTED_MEDIA_TYPE',
    });
    // Subgraphs are not for browsers: no CORS headers for anyone.
    const preflight = await fetch(`${identityServer.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: APP_ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe("the explorer's cookie", () => {
  it('is a Secure, HttpOnly, SameSite=Strict __Host- cookie, set only for a JSON sign-in', async () => {
    const user = await admin();
    const { setCookie } = await explorerSession(user.email);
    const attributes = setCookie.split(';').map((s) => s.trim());
    expect(attributes[0]).toMatch(new RegExp(`^${EXPLORER_COOKIE}=.+`));
    expect(EXPLORER_COOKIE.startsWith('__Host-')).toBe(true);
    expect(attributes).toEqual(expect.arrayContaining(['Path=/', 'HttpOnly', 'Secure', 'SameSite=Strict']));
    expect(attributes.some((a) => /^domain=/i.test(a))).toBe(false);

    // A cross-site form can only send a simple content type: no session for it.
    const forged = await call('http://gateway.test/explorer/session', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ email: user.email, password: GOOD_PASSWORD }),
    });
    expect(forged.status).toBe(415);
    expect(forged.headers.get('set-cookie')).toBeNull();
  });

  it('counts only on requests carrying the explorer header: without it the caller is anonymous', async () => {
    const user = await admin();
    const { cookie } = await explorerSession(user.email);
    const ME = '{ me { role } }';

    // What a cross-site fetch riding on the cookie would get (it cannot add our header without a preflight).
    const withoutHeader = await gql(ME, undefined, undefined, { cookie });
    expect(withoutHeader.body.errors).toBeUndefined();
    expect(withoutHeader.body.data).toEqual({ me: null });

    // A cross-site form with the cookie: refused before anything runs.
    const form = await call(ENDPOINT, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: ME }),
    });
    expect(form.status).toBe(415);

    const fromExplorer = await gql(ME, undefined, undefined, { cookie, [EXPLORER_HEADER]: '1' });
    expect(fromExplorer.body.data).toEqual({ me: { role: 'ADMIN' } });
  });

  it('opens GraphiQL for the signed-in admin, which sends the explorer header on its requests', async () => {
    const user = await admin();
    const { cookie } = await explorerSession(user.email);
    const page = await (await call(ENDPOINT, { headers: { accept: 'text/html', cookie } })).text();
    expect(page.toLowerCase()).toContain('graphiql');
    expect(page).toContain(`"additionalHeaders":{"${EXPLORER_HEADER}":"1"}`);
    const anonymous = await (await call(ENDPOINT, { headers: { accept: 'text/html' } })).text();
    expect(anonymous).toContain('The GraphQL explorer is for admins');
  });

  it('logging out ends the session in identity: the token no longer works, even as a bearer token', async () => {
    const user = await admin();
    const { cookie, token } = await explorerSession(user.email);
    expect((await gql('{ me { role } }', undefined, token)).body.data).toEqual({ me: { role: 'ADMIN' } });

    // Logging out needs the explorer's header: a cross-site page cannot end (or test) the session.
    const forged = await call('http://gateway.test/explorer/logout', { method: 'POST', headers: { cookie } });
    expect(forged.status).toBe(403);
    expect((await gql('{ me { role } }', undefined, token)).body.data).toEqual({ me: { role: 'ADMIN' } });

    const out = await call('http://gateway.test/explorer/logout', {
      method: 'POST',
      headers: { cookie, [EXPLORER_HEADER]: '1' },
    });
    expect(out.status).toBe(200);
    expect(await out.json()).toEqual({ ok: true, revoked: true });
    const cleared = out.headers.get('set-cookie')!;
    expect(cleared).toMatch(new RegExp(`^${EXPLORER_COOKIE}=;`));
    expect(cleared).toMatch(/Max-Age=0/);

    const asBearer = await gql('{ me { role } }', undefined, token);
    expect(asBearer.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const asCookie = await gql('{ me { role } }', undefined, undefined, { cookie, [EXPLORER_HEADER]: '1' });
    expect(asCookie.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('in Chromium', () => {
  const CHROMIUM = '/usr/bin/chromium';
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM))
      throw new Error(
        `These tests drive Debian's Chromium at ${CHROMIUM}; install it with: apt-get install -y chromium`,
      );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    context = await browser.newContext();
    // No other origin is reachable here, as on a network without internet: the explorer needs none.
    await context.route(/^https:/, (route) => route.abort());
    page = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
  });

  const explorerCookie = async () => (await context.cookies()).find((c) => c.name === EXPLORER_COOKIE);
  /** Runs a GraphQL POST from the current page's origin, as its scripts would. */
  const fetchFromPage = (
    url: string,
    query: string,
    headers: Record<string, string>,
    credentials: RequestCredentials = 'same-origin',
  ) =>
    page.evaluate(
      async ({ url, query, headers, credentials }) => {
        try {
          const res = await fetch(url, {
            method: 'POST',
            credentials,
            headers: { 'content-type': 'application/json', ...headers },
            body: JSON.stringify({ query }),
          });
          return { status: res.status, body: await res.json() };
        } catch (err) {
          return { failed: String(err) };
        }
      },
      { url, query, headers, credentials },
    );

  it("an admin signs in on the explorer's page over http on 127.0.0.1: the browser keeps the __Host- Secure cookie and the explorer opens", async () => {
    const user = await admin();
    await page.goto(`${gatewayServer.url}/graphql`);
    await page.fill('input[name=email]', user.email);
    await page.fill('input[name=password]', GOOD_PASSWORD);
    await Promise.all([page.waitForEvent('load'), page.click('button')]);
    expect(await explorerCookie()).toMatchObject({
      domain: '127.0.0.1',
      path: '/',
      secure: true,
      httpOnly: true,
      sameSite: 'Strict',
    });
    expect(await page.locator('form#f').count()).toBe(0);
    // GraphiQL's page (its root element), its scripts served by the gateway (explorer-browser.test.ts).
    expect(await page.locator('#root').count()).toBe(1);

    // The explorer's requests carry its header; the same cookie without it counts for nothing.
    const endpoint = `${gatewayServer.url}/graphql`;
    expect(await fetchFromPage(endpoint, '{ me { role } }', { [EXPLORER_HEADER]: '1' })).toEqual({
      status: 200,
      body: { data: { me: { role: 'ADMIN' } } },
    });
    expect(await fetchFromPage(endpoint, '{ me { role } }', {})).toEqual({ status: 200, body: { data: { me: null } } });
  });

  it("another site's page gets nothing from the admin's cookie: no preflight passes, forms are refused, and the session survives", async () => {
    const endpoint = `${gatewayServer.url}/graphql`;
    expect(await explorerCookie()).toBeDefined();
    await page.goto(siteUrl(attackerSite));

    // A non-simple request (our header, JSON) needs a preflight, which this origin does not pass.
    const withHeader = await fetchFromPage(endpoint, 'mutation { logOut }', { [EXPLORER_HEADER]: '1' }, 'include');
    expect(withHeader).toMatchObject({ failed: expect.stringMatching(/Failed to fetch/) });

    // A form posting the mutation lands on the gateway's refusal (and SameSite=Strict kept the cookie home anyway).
    await page.setContent(
      `<form method="post" action="${endpoint}"><input name="query" value="mutation { logOut }"></form>`,
    );
    await Promise.all([page.waitForEvent('load'), page.evaluate(() => document.forms[0]!.submit())]);
    expect(JSON.parse((await page.textContent('body'))!)).toMatchObject({
      errors: [{ extensions: { code: 'BAD_USER_INPUT', reason: 'UNSUPPORTED_MEDIA_TYPE' } }],
    });

    // Nothing was logged out: the explorer still works for the admin.
    await page.goto(endpoint);
    expect(await fetchFromPage(endpoint, '{ me { role } }', { [EXPLORER_HEADER]: '1' })).toEqual({
      status: 200,
      body: { data: { me: { role: 'ADMIN' } } },
    });
  });

  it('a listed origin calls the endpoint with a bearer token and reads the answer', async () => {
    const learner = await signUp('browser-partner');
    await page.goto(siteUrl(partnerSite));
    const answer = await fetchFromPage(
      `${gatewayServer.url}/graphql`,
      '{ me { id } }',
      { authorization: `Bearer ${learner.accessToken}` },
      'omit',
    );
    expect(answer).toEqual({ status: 200, body: { data: { me: { id: learner.userId } } } });
    await page.goto(siteUrl(attackerSite));
    const unlisted = await fetchFromPage(
      `${gatewayServer.url}/graphql`,
      '{ me { id } }',
      { authorization: `Bearer ${learner.accessToken}` },
      'omit',
    );
    expect(unlisted).toMatchObject({ failed: expect.stringMatching(/Failed to fetch/) });
  });

  it('logging out from the explorer ends the session and drops the cookie; the page asks to sign in again', async () => {
    const endpoint = `${gatewayServer.url}/graphql`;
    await page.goto(endpoint);
    const token = (await explorerCookie())!.value;
    const out = await page.evaluate(async () =>
      (await fetch('/explorer/logout', { method: 'POST', headers: { 'x-coursegraph-explorer': '1' } })).json(),
    );
    expect(out).toEqual({ ok: true, revoked: true });
    expect(await explorerCookie()).toBeUndefined();
    expect((await gql('{ me { role } }', undefined, token)).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await page.reload();
    expect(await page.locator('form#f').count()).toBe(1);
  });
});
