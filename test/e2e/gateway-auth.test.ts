/**
 * End to end: the identity subgraph and the gateway as real processes (the same launcher as
 * `npm start`), the gateway in production mode (startE2E's `mode`: the subgraphs stay in the test
 * mode), against the test database, Redis and NATS. Everything goes through the single endpoint
 * unless a test is about bypassing it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { generateKeyPair, SignJWT, decodeProtectedHeader } from 'jose';
import {
  AUTH_FIELDS,
  contextDatabaseUrl,
  type E2E,
  errorCode,
  GOOD_PASSWORD,
  type GraphQLResponse,
  postGraphQL,
  startE2E,
  uniqueEmail,
} from '@coursegraph/test-support';

let e2e: E2E;
let platform: E2E['platform'];
let endpoint: string;
let identityUrl: string;

const gql = <T = Record<string, any>>(
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
  headers?: Record<string, string>,
) => postGraphQL<T>(fetch, endpoint, query, variables, token, headers);

const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { ${AUTH_FIELDS} } }`;
const LOG_IN = `mutation($input: LogInInput!) { logIn(input: $input) { ${AUTH_FIELDS} } }`;
const REFRESH = `mutation($t: String!) { refreshSession(refreshToken: $t) { ${AUTH_FIELDS} } }`;
const ME = '{ me { id email name role } }';

async function signUp(tag: string) {
  const email = uniqueEmail(tag);
  const res = await gql(SIGN_UP, { input: { email, password: GOOD_PASSWORD, name: `E2E ${tag}` } });
  expect(res.body.errors).toBeUndefined();
  return { email, ...(res.body.data!.signUp as { accessToken: string; refreshToken: string; user: { id: string } }) };
}

async function admin() {
  const user = await signUp('e2e-admin');
  const db = new pg.Client({ connectionString: contextDatabaseUrl('identity', e2e.database) });
  await db.connect();
  await db.query(`update users set role = 'ADMIN' where id = $1`, [user.user.id]);
  await db.end();
  const res = await gql(LOG_IN, { input: { email: user.email, password: GOOD_PASSWORD } });
  return { ...user, accessToken: res.body.data!.logIn.accessToken as string };
}

async function userCount(adminToken: string, email: string): Promise<number> {
  const res = await gql('query($e: String) { users(filter: { email: $e }) { totalCount } }', { e: email }, adminToken);
  return res.body.data!.users.totalCount;
}

beforeAll(async () => {
  e2e = await startE2E('auth', { mode: 'production' });
  platform = e2e.platform;
  endpoint = e2e.endpoint;
  identityUrl = `http://127.0.0.1:${e2e.ports.identity}/graphql`;
});

afterAll(async () => {
  await platform?.stop();
});

describe('the sign-in journey through the gateway', () => {
  it('signUp → logIn → me → refresh → logOut', async () => {
    const email = uniqueEmail('journey');
    const signedUp = await gql(SIGN_UP, { input: { email, password: GOOD_PASSWORD, name: 'Journey' } });
    expect(signedUp.status).toBe(200);
    expect(signedUp.headers.get('content-type')).toContain('application/graphql-response+json');
    const userId = signedUp.body.data!.signUp.user.id;

    const login = (await gql(LOG_IN, { input: { email: email.toUpperCase(), password: GOOD_PASSWORD } })).body.data!
      .logIn;
    expect(login.user).toMatchObject({ id: userId, email, role: 'LEARNER' });

    const me = await gql(ME, {}, login.accessToken);
    expect(me.body.data!.me).toMatchObject({ id: userId, email, name: 'Journey' });

    const refreshed = (await gql(REFRESH, { t: login.refreshToken })).body.data!.refreshSession;
    expect(refreshed.refreshToken).not.toBe(login.refreshToken);
    expect((await gql(ME, {}, refreshed.accessToken)).body.data!.me.id).toBe(userId);

    expect((await gql('mutation { logOut }', {}, refreshed.accessToken)).body.data!.logOut).toBe(true);
    expect(errorCode(await gql(ME, {}, refreshed.accessToken))).toBe('UNAUTHENTICATED');
    expect(errorCode(await gql(REFRESH, { t: refreshed.refreshToken }))).toBe('UNAUTHENTICATED');
    // The signUp session is a separate one and still alive.
    expect((await gql(ME, {}, signedUp.body.data!.signUp.accessToken)).body.data!.me.id).toBe(userId);
  });

  it('anonymous me is null', async () => {
    expect((await gql(ME)).body).toEqual({ data: { me: null } });
  });
});

describe('bad input gets a specific error and changes nothing', () => {
  let adminToken: string;
  beforeAll(async () => {
    adminToken = (await admin()).accessToken;
  });

  const raw = (body: string, headers: Record<string, string> = {}) =>
    fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
      body,
    });

  it('malformed JSON: 400 BAD_USER_INPUT', async () => {
    const res = await raw('{"query": "{ me { id } }"');
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'BAD_REQUEST' });
    expect(JSON.stringify(body)).not.toMatch(/SyntaxError|originalError|stack/);
  });

  it('an invalid query: 400 BAD_USER_INPUT (parse failure)', async () => {
    const res = await gql('{ me { id ');
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'GRAPHQL_PARSE_FAILED' });
    expect(res.body.data).toBeUndefined();
  });

  it('an unknown field: 400 BAD_USER_INPUT (validation failure)', async () => {
    const res = await gql('{ me { id password } }');
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'GRAPHQL_VALIDATION_FAILED',
    });
  });

  it('a wrong password: UNAUTHENTICATED', async () => {
    const user = await signUp('e2e-wrongpw');
    const res = await gql(LOG_IN, { input: { email: user.email, password: 'definitely-not-it' } });
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
    expect(res.body.errors![0]!.message).toBe('Email or password is incorrect.');
    expect(res.body.errors![0]!.extensions).not.toHaveProperty('serviceName');
  });

  it('an expired token: UNAUTHENTICATED, saying it expired', async () => {
    const user = await signUp('e2e-expired');
    const db = new pg.Client({ connectionString: contextDatabaseUrl('identity', e2e.database) });
    await db.connect();
    const { rows } = await db.query(`select private_jwk from signing_keys where kid = $1`, [
      decodeProtectedHeader(user.accessToken).kid,
    ]);
    await db.end();
    const { importJWK } = await import('jose');
    const key = await importJWK(rows[0].private_jwk, 'ES256');
    const past = Math.floor(Date.now() / 1000) - 7200;
    const expired = await new SignJWT({ role: 'LEARNER', sid: crypto.randomUUID(), iat_ms: past * 1000 })
      .setProtectedHeader({ alg: 'ES256', kid: rows[0].private_jwk.kid })
      .setSubject(user.user.id)
      .setIssuer('coursegraph-identity')
      .setAudience('coursegraph')
      .setIssuedAt(past)
      .setExpirationTime(past + 900)
      .sign(key);
    const res = await gql(ME, {}, expired);
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
    expect(res.body.errors![0]!.message).toMatch(/expired/);
  });

  it('a forged token: UNAUTHENTICATED', async () => {
    const user = await signUp('e2e-forged');
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ role: 'ADMIN', sid: crypto.randomUUID(), iat_ms: Date.now() })
      .setProtectedHeader({ alg: 'ES256', kid: decodeProtectedHeader(user.accessToken).kid! })
      .setSubject(user.user.id)
      .setIssuer('coursegraph-identity')
      .setAudience('coursegraph')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
    const res = await gql('{ users { totalCount } }', {}, forged);
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
    expect(res.body.data ?? null).toBeNull();
  });

  it('a duplicate email in another case: CONFLICT, still one account', async () => {
    const user = await signUp('e2e-dup');
    const res = await gql(SIGN_UP, {
      input: { email: user.email.toUpperCase(), password: GOOD_PASSWORD, name: 'Dup' },
    });
    expect(errorCode(res)).toBe('CONFLICT');
    expect(await userCount(adminToken, user.email)).toBe(1);
  });

  it('a weak password: BAD_USER_INPUT, no account', async () => {
    const email = uniqueEmail('e2e-weak');
    const res = await gql(SIGN_UP, { input: { email, password: 'password123', name: 'Weak' } });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.extensions!.field).toBe('password');
    expect(await userCount(adminToken, email)).toBe(0);
  });

  it('a reused refresh token: UNAUTHENTICATED, and the family is revoked', async () => {
    const user = await signUp('e2e-reuse');
    const next = (await gql(REFRESH, { t: user.refreshToken })).body.data!.refreshSession;
    const reused = await gql(REFRESH, { t: user.refreshToken });
    expect(errorCode(reused)).toBe('UNAUTHENTICATED');
    expect(errorCode(await gql(ME, {}, next.accessToken))).toBe('UNAUTHENTICATED');
  });

  it('a non-Bearer Authorization header: UNAUTHENTICATED', async () => {
    const res = await gql(ME, {}, undefined, { authorization: 'Basic YWRtaW46YWRtaW4=' });
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
  });
});

describe('GraphQL over HTTP', () => {
  it('serves queries over GET', async () => {
    const res = await fetch(`${endpoint}?query=${encodeURIComponent('{ me { id } }')}`, {
      headers: { accept: 'application/graphql-response+json' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/graphql-response+json');
    expect(await res.json()).toEqual({ data: { me: null } });
  });

  it('refuses a mutation over GET with 405', async () => {
    const res = await fetch(`${endpoint}?query=${encodeURIComponent('mutation { logOut }')}`, {
      headers: { accept: 'application/graphql-response+json' },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toContain('POST');
  });

  it('answers application/json clients with 200 and errors in the body', async () => {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: '{ me { nope } }' }),
    });
    expect(res.headers.get('content-type')).toContain('application/json');
    expect((await res.json()).errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('refuses a request without a query', async () => {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ variables: {} }),
    });
    expect(res.status).toBe(400);
  });

  it('refuses an unsupported media type with 415', async () => {
    const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: '<query/>' });
    expect(res.status).toBe(415);
  });
});

describe('explorer and introspection (production mode)', () => {
  it('non-admins get no introspection; admins do', async () => {
    const learner = await signUp('e2e-introspect');
    for (const token of [undefined, learner.accessToken]) {
      const res = await gql('{ __schema { queryType { name } } }', {}, token);
      expect(res.body.data?.__schema).toBeUndefined();
      expect(res.body.errors?.[0]?.message).toMatch(/introspection/i);
    }
    const { accessToken } = await admin();
    const res = await gql('{ __schema { queryType { name } } }', {}, accessToken);
    expect(res.body.data!.__schema.queryType.name).toBe('Query');
  });

  it('a browser gets the sign-in page until an admin signs in, then GraphiQL', async () => {
    const page = await fetch(endpoint, { headers: { accept: 'text/html' } });
    const html = await page.text();
    expect(html).toContain('The GraphQL explorer is for admins');
    expect(html.toLowerCase()).not.toContain('graphiql');

    const learner = await signUp('e2e-explorer');
    const denied = await fetch(`${platform.gatewayUrl}/explorer/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: learner.email, password: GOOD_PASSWORD }),
    });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('set-cookie')).toBeNull();

    const wrong = await fetch(`${platform.gatewayUrl}/explorer/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: learner.email, password: 'nope-nope-nope' }),
    });
    expect(wrong.status).toBe(401);

    const a = await admin();
    const session = await fetch(`${platform.gatewayUrl}/explorer/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: a.email, password: GOOD_PASSWORD }),
    });
    expect(session.status).toBe(200);
    const cookie = session.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const explorer = await fetch(endpoint, { headers: { accept: 'text/html', cookie: cookie.split(';')[0]! } });
    expect((await explorer.text()).toLowerCase()).toContain('graphiql');
  });
});

describe('subgraphs cannot be fooled by bypassing the gateway', () => {
  const direct = (query: string, headers: Record<string, string>) =>
    postGraphQL(fetch, identityUrl, query, undefined, undefined, headers);

  it('ignores identity headers a caller could forge', async () => {
    const res = await direct('{ users { totalCount } }', {
      'x-user-id': crypto.randomUUID(),
      'x-user-role': 'ADMIN',
      'x-role': 'ADMIN',
    });
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
    expect((await direct('{ me { id } }', { 'x-user-id': crypto.randomUUID() })).body.data!.me).toBeNull();
  });

  it('rejects a self-signed token claiming ADMIN', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ role: 'ADMIN', sid: crypto.randomUUID(), iat_ms: Date.now() })
      .setProtectedHeader({ alg: 'ES256', kid: 'made-up' })
      .setSubject(crypto.randomUUID())
      .setIssuer('coursegraph-identity')
      .setAudience('coursegraph')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
    const res: GraphQLResponse = await direct('{ users { totalCount } }', { authorization: `Bearer ${forged}` });
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
  });
});

describe('probes', () => {
  it('gateway and identity answer /healthz and /readyz', async () => {
    for (const base of [platform.gatewayUrl, new URL(identityUrl).origin]) {
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      // The gateway adds each subgraph's state (gateway/src/readiness.ts); nothing is unavailable here.
      const body = (await ready.json()) as { status: string; unavailable?: string[] };
      expect(body.status).toBe('ready');
      if (base === platform.gatewayUrl) expect(body.unavailable).toEqual([]);
    }
  });

  it('identity publishes its JWKS with public keys only', async () => {
    const res = await fetch(`${new URL(identityUrl).origin}/.well-known/jwks.json`);
    const jwks = await res.json();
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
      expect(key).not.toHaveProperty('d');
    }
  });
});
