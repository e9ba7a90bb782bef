/**
 * The explorer in Chromium (Debian's /usr/bin/chromium, driven by playwright-core), with the gateway
 * in-process over the real identity subgraph (served on a port, against the test database and
 * Redis), as an admin uses it: sign in, run a query in GraphiQL and read its result on screen, sign
 * out; and as a learner, who gets no explorer. The browser has no way to any other origin (every
 * such request is recorded and aborted, as on a network without internet), and the pages' CSP
 * would report anything they tried to load or run that it does not allow.
 *
 * With UPDATE_SCREENSHOTS=1 it saves the explorer showing its result to docs/screenshots/explorer.png.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createLogger, readConfig, serve, type RunningServer } from '@coursegraph/service-kit';
import { AUTH_FIELDS, contextDatabaseUrl, GOOD_PASSWORD, postGraphQL, uniqueEmail } from '@coursegraph/test-support';
import { identitySettings } from '../../subgraphs/identity/src/config.js';
import { createIdentityApp, type IdentityApp } from '../../subgraphs/identity/src/app.js';
import { gatewaySettings } from '../src/config.js';
import { createGatewayApp } from '../src/app.js';
import { EXPLORER_CSP } from '../src/explorer.js';
import { EXPLORER_COOKIE, EXPLORER_HEADER } from '../src/request-auth.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = path.resolve(import.meta.dirname, '../../docs/screenshots/explorer.png');

let identity: IdentityApp;
let identityServer: RunningServer;
let gateway: Awaited<ReturnType<typeof createGatewayApp>>;
let gatewayServer: RunningServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Every request the browser made to another origin (all aborted). */
const foreignRequests: string[] = [];
/** What Chromium's console said about the pages' Content-Security-Policy. */
const cspReports: string[] = [];

const endpoint = () => `${gatewayServer.url}/graphql`;
const call = (url: string, init: RequestInit = {}) => Promise.resolve(gateway.yoga.fetch(url, init));
const gql = (query: string, variables?: Record<string, unknown>, token?: string, headers?: Record<string, string>) =>
  postGraphQL(call, 'http://gateway.test/graphql', query, variables, token, headers);

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`These tests drive Debian's Chromium at ${CHROMIUM}; install it with: apt-get install -y chromium`);
  const silent = createLogger('explorer-browser-test', 'silent');
  identity = await createIdentityApp(
    readConfig(identitySettings, { ...process.env, IDENTITY_DATABASE_URL: contextDatabaseUrl('identity') }),
    silent,
  );
  identityServer = await serve({ logger: silent, port: 0, handler: identity.handler });
  // Read by the supergraph loader from the environment (this test file's own process).
  process.env.SUBGRAPH_IDENTITY_URL = `${identityServer.url}/graphql`;
  const config = readConfig(gatewaySettings, {
    ...process.env,
    IDENTITY_JWKS_URL: `${identityServer.url}/.well-known/jwks.json`,
  });
  gateway = await createGatewayApp(config, silent);
  gatewayServer = await serve({ logger: silent, port: 0, handler: gateway.handler });

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
  context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const gatewayOrigin = new URL(gatewayServer.url).origin;
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin === gatewayOrigin) return route.continue();
    foreignRequests.push(url);
    return route.abort();
  });
  page = await context.newPage();
  page.on('console', (message) => {
    if (/Content[- ]Security[- ]Policy/i.test(message.text())) cspReports.push(message.text());
  });
});

afterAll(async () => {
  await browser?.close();
  await gateway?.beforeDrain();
  await gatewayServer?.shutdown();
  await gateway?.close();
  await identityServer?.shutdown();
  await identity?.close();
});

async function signUp(tag: string, name: string) {
  const email = uniqueEmail(tag);
  const res = await gql(`mutation($input: SignUpInput!) { signUp(input: $input) { ${AUTH_FIELDS} } }`, {
    input: { email, password: GOOD_PASSWORD, name },
  });
  expect(res.body.errors).toBeUndefined();
  return { email, name, userId: res.body.data!.signUp.user.id as string };
}

const explorerCookie = async () => (await context.cookies()).find((c) => c.name === EXPLORER_COOKIE);

/** Opens the endpoint as a browser does, and checks the page came with the explorer's CSP. */
async function openEndpoint() {
  const response = await page.goto(endpoint());
  expect(response!.status()).toBe(200);
  expect(response!.headers()['content-security-policy']).toBe(EXPLORER_CSP);
}

async function signIn(email: string) {
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', GOOD_PASSWORD);
  await page.click('form#f button');
}

/** The text GraphiQL's response pane shows (Monaco renders it as lines of spans). */
const resultPaneText = async () =>
  (await page.locator('.graphiql-response .view-lines').innerText()).replace(/\u00a0/g, ' ');

describe('the explorer in Chromium', () => {
  it("the pages' policy allows this origin only, runs no inline script and may not be framed", () => {
    const directives = new Map(
      EXPLORER_CSP.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name!, values] as const;
      }),
    );
    expect(directives.get('default-src')).toEqual(["'self'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('connect-src')).toEqual(["'self'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    // Nothing in it names another origin: only keywords, and data: for GraphiQL's embedded fonts and images.
    for (const values of directives.values()) for (const v of values) expect(v).toMatch(/^('[a-z-]+'|data:)$/);
  });

  it('an admin signs in, runs a query in GraphiQL and reads its result on screen', async () => {
    const user = await signUp('explorer-admin', 'Ada Admin');
    await identity.db.user.update({ where: { id: user.userId }, data: { role: 'ADMIN' } });

    await openEndpoint();
    expect(await page.locator('form#f').isVisible()).toBe(true);
    await signIn(user.email);

    // GraphiQL renders from the gateway's own files, its editors included.
    const queryEditor = page.locator('.graphiql-query-editor .monaco-editor').first();
    await queryEditor.waitFor();
    expect(await page.locator('form#f').count()).toBe(0);
    expect(await explorerCookie()).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });

    await queryEditor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('{ me { id name role } }');
    // The editor closes brackets as they are typed: drop whatever it added after the cursor.
    await page.keyboard.press('ControlOrMeta+Shift+End');
    await page.keyboard.press('Delete');
    // Checked against the schema by GraphiQL's language worker (served by the gateway too): no error marks.
    await expect.poll(() => page.locator('.graphiql-query-editor .squiggly-error').count()).toBe(0);
    await page.click('.graphiql-execute-button');
    await expect.poll(resultPaneText).toContain(user.userId);
    const shown = JSON.parse(await resultPaneText()) as unknown;
    expect(shown).toEqual({ data: { me: { id: user.userId, name: user.name, role: 'ADMIN' } } });

    if (process.env.UPDATE_SCREENSHOTS === '1') {
      await page.mouse.move(900, 600); // off the editors, whose scrollbars show under the pointer
      fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT });
    }
  });

  it('signs out with its button: the session is revoked and the page asks to sign in again', async () => {
    const token = (await explorerCookie())!.value;
    expect((await gql('{ me { role } }', undefined, token)).body.data).toEqual({ me: { role: 'ADMIN' } });

    await Promise.all([page.waitForEvent('load'), page.click('#sign-out')]);
    await page.locator('form#f').waitFor();
    expect(await explorerCookie()).toBeUndefined();
    expect(await page.locator('.graphiql-container').count()).toBe(0);

    // The old cookie's token is refused however it is sent: the session ended in identity.
    const asBearer = await gql('{ me { role } }', undefined, token);
    expect(asBearer.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const asCookie = await gql('{ me { role } }', undefined, undefined, {
      cookie: `${EXPLORER_COOKIE}=${token}`,
      [EXPLORER_HEADER]: '1',
    });
    expect(asCookie.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // And it no longer opens the explorer.
    const pageWithOldCookie = await call('http://gateway.test/graphql', {
      headers: { accept: 'text/html', cookie: `${EXPLORER_COOKIE}=${token}` },
    });
    expect(await pageWithOldCookie.text()).toContain('The GraphQL explorer is for admins');
  });

  it('a learner who signs in is refused: no session and no GraphiQL', async () => {
    const learner = await signUp('explorer-learner', 'Lee Learner');
    await openEndpoint();
    await signIn(learner.email);
    await expect.poll(() => page.locator('#error').textContent()).toBe('The explorer is for admins only.');
    expect(await explorerCookie()).toBeUndefined();
    await page.reload();
    expect(await page.locator('form#f').isVisible()).toBe(true);
    expect(await page.locator('#root, .graphiql-container').count()).toBe(0);
  });

  it('loaded nothing from another origin, and the CSP refused nothing the pages needed', () => {
    expect(foreignRequests).toEqual([]);
    expect(cspReports).toEqual([]);
  });
});

describe("the explorer's files", () => {
  it('are served with an ETag (a revalidation is a 304) and gzipped when the browser accepts it', async () => {
    const url = 'http://gateway.test/explorer/assets/graphiql.js';
    const plain = await call(url);
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toMatch(/^text\/javascript/);
    const text = await plain.text();
    expect(text).toContain('renderYogaGraphiQL');
    const etag = plain.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);

    const again = await call(url, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);

    const gzipped = await call(url, { headers: { 'accept-encoding': 'gzip, br' } });
    expect(gzipped.headers.get('content-encoding')).toBe('gzip');
    expect(gunzipSync(Buffer.from(await gzipped.arrayBuffer())).toString()).toBe(text);

    expect((await call('http://gateway.test/explorer/assets/nothing.js')).status).toBe(404);
  });
});
