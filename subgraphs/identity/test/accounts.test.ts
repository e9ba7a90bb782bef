import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { signAccessToken } from '../src/domain/tokens.js';
import { AUTH_FIELDS, errorCode, GOOD_PASSWORD, uniqueEmail } from '@coursegraph/test-support';
import { startIdentity, type IdentityHarness } from './harness.js';

const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { ${AUTH_FIELDS} } }`;
const LOG_IN = `mutation($input: LogInInput!) { logIn(input: $input) { ${AUTH_FIELDS} } }`;
const REFRESH = `mutation($t: String!) { refreshSession(refreshToken: $t) { ${AUTH_FIELDS} } }`;
const ME = `{ me { id email name role active } }`;

let h: IdentityHarness;
beforeAll(async () => {
  h = await startIdentity({ LOGIN_MAX_FAILURES: '3' });
});
afterAll(async () => {
  await h.close();
});

const usersWithEmail = (email: string) => h.app.db.user.count({ where: { emailKey: email.toLowerCase() } });

describe('signUp', () => {
  it('creates a learner, returns tokens, and shows the user their own email', async () => {
    const email = uniqueEmail('signup');
    const res = await h.gql(SIGN_UP, { input: { email, password: GOOD_PASSWORD, name: '  Ada Lovelace ' } });
    expect(res.body.errors).toBeUndefined();
    const payload = res.body.data!.signUp;
    expect(payload.user).toMatchObject({ email, name: 'Ada Lovelace', role: 'LEARNER', active: true });
    expect(payload.accessToken.split('.')).toHaveLength(3);
    expect(decodeProtectedHeader(payload.accessToken).alg).toBe('ES256');
    const me = await h.gql(ME, {}, payload.accessToken);
    expect(me.body.data!.me).toMatchObject({ id: payload.user.id, email });
  });

  it('refuses the same email in another case, creating nothing', async () => {
    const { email } = await h.signUp('dup');
    const res = await h.gql(SIGN_UP, { input: { email: email.toUpperCase(), password: GOOD_PASSWORD, name: 'Copy' } });
    expect(errorCode(res)).toBe('CONFLICT');
    expect(res.body.errors![0]!.extensions!.field).toBe('email');
    expect(await usersWithEmail(email)).toBe(1);
  });

  it.each([
    ['short1', 'at least 10 characters'],
    ['password123', 'too common'],
    ['aaaaaaaaaaaa', 'at least 4 different characters'],
    ['x'.repeat(129), 'at most 128'],
  ])('refuses the weak password %j (%s), creating nothing', async (password, message) => {
    const email = uniqueEmail('weak');
    const res = await h.gql(SIGN_UP, { input: { email, password, name: 'Weak' } });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.message).toContain(message);
    expect(await usersWithEmail(email)).toBe(0);
  });

  it('refuses a password containing the email name', async () => {
    const email = `marguerite-${Date.now()}@test.coursegraph.dev`;
    const res = await h.gql(SIGN_UP, { input: { email, password: `x${email.split('@')[0]}y`, name: 'M' } });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(await usersWithEmail(email)).toBe(0);
  });

  it.each(['not-an-email', '', 'a@b', 'two@@example.com'])('refuses the email %j', async (email) => {
    const res = await h.gql(SIGN_UP, { input: { email, password: GOOD_PASSWORD, name: 'X' } });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.extensions!.field).toBe('email');
  });

  it('refuses an empty name', async () => {
    const res = await h.gql(SIGN_UP, { input: { email: uniqueEmail(), password: GOOD_PASSWORD, name: '   ' } });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
  });
});

describe('logIn', () => {
  it('accepts the email in any case', async () => {
    const { email, userId } = await h.signUp('login');
    const res = await h.gql(LOG_IN, { input: { email: `  ${email.toUpperCase()} `, password: GOOD_PASSWORD } });
    expect(res.body.data!.logIn.user.id).toBe(userId);
  });

  it('gives the same UNAUTHENTICATED answer for a wrong password and an unknown email', async () => {
    const { email } = await h.signUp('wrongpw');
    const wrong = await h.gql(LOG_IN, { input: { email, password: 'not-the-password' } });
    const unknown = await h.gql(LOG_IN, { input: { email: uniqueEmail('nobody'), password: GOOD_PASSWORD } });
    expect(errorCode(wrong)).toBe('UNAUTHENTICATED');
    expect(unknown.body.errors![0]!.message).toBe(wrong.body.errors![0]!.message);
  });

  it('locks an email after too many failures with RATE_LIMITED, even for the right password', async () => {
    const { email } = await h.signUp('brute');
    for (let i = 0; i < 3; i++) {
      expect(errorCode(await h.gql(LOG_IN, { input: { email, password: `guess-number-${i}` } }))).toBe(
        'UNAUTHENTICATED',
      );
    }
    const locked = await h.gql(LOG_IN, { input: { email, password: GOOD_PASSWORD } });
    expect(errorCode(locked)).toBe('RATE_LIMITED');
    expect(locked.body.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
    // Another account is not affected.
    const other = await h.signUp('bystander');
    expect(
      (await h.gql(LOG_IN, { input: { email: other.email, password: GOOD_PASSWORD } })).body.data?.logIn,
    ).toBeTruthy();
  });

  it('a success clears the failure count', async () => {
    const { email } = await h.signUp('reset');
    for (let i = 0; i < 2; i++) await h.gql(LOG_IN, { input: { email, password: `guess-number-${i}` } });
    expect((await h.gql(LOG_IN, { input: { email, password: GOOD_PASSWORD } })).body.data?.logIn).toBeTruthy();
    for (let i = 0; i < 2; i++) await h.gql(LOG_IN, { input: { email, password: `guess-number-${i}` } });
    expect((await h.gql(LOG_IN, { input: { email, password: GOOD_PASSWORD } })).body.data?.logIn).toBeTruthy();
  });
});

describe('access tokens', () => {
  it('rejects an expired token with a specific message', async () => {
    const { userId } = await h.signUp('expired');
    const { token } = await signAccessToken(
      h.app.keys,
      tokenSettings(),
      { userId, role: 'LEARNER', sessionId: crypto.randomUUID() },
      Date.now() - 3_600_000,
    );
    const res = await h.gql(ME, {}, token);
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
    expect(res.body.errors![0]!.message).toMatch(/expired/);
  });

  it('rejects a token forged with another key under a real kid, claiming ADMIN', async () => {
    const { accessToken, userId } = await h.signUp('forge');
    const { kid } = decodeProtectedHeader(accessToken);
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ role: 'ADMIN', sid: crypto.randomUUID(), iat_ms: Date.now() })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setSubject(userId)
      .setIssuer(h.config.authIssuer)
      .setAudience(h.config.authAudience)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
    const res = await h.gql('{ users { totalCount } }', {}, forged);
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
  });

  it('rejects an unsigned (alg none) token', async () => {
    const { userId } = await h.signUp('none');
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const token = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub: userId, role: 'ADMIN', sid: 'x', iat_ms: Date.now(), exp: 9e9 })}.`;
    expect(errorCode(await h.gql(ME, {}, token))).toBe('UNAUTHENTICATED');
  });
});

describe('refresh-token rotation', () => {
  it('exchanges a refresh token once for a new pair in the same session', async () => {
    const first = await h.signUp('rotate');
    const res = await h.gql(REFRESH, { t: first.refreshToken });
    const next = res.body.data!.refreshSession;
    expect(next.refreshToken).not.toBe(first.refreshToken);
    expect((await h.gql(ME, {}, next.accessToken)).body.data!.me.id).toBe(first.userId);
    // The rotated token works in turn.
    expect((await h.gql(REFRESH, { t: next.refreshToken })).body.data?.refreshSession).toBeTruthy();
  });

  it('reusing a spent refresh token revokes the whole family, access tokens included', async () => {
    const first = await h.signUp('reuse');
    const second = (await h.gql(REFRESH, { t: first.refreshToken })).body.data!.refreshSession;
    const reused = await h.gql(REFRESH, { t: first.refreshToken });
    expect(errorCode(reused)).toBe('UNAUTHENTICATED');
    expect(reused.body.errors![0]!.message).toMatch(/already used/);
    // The legitimate newer token of the family is dead too, and so are its access tokens.
    expect(errorCode(await h.gql(REFRESH, { t: second.refreshToken }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await h.gql(ME, {}, second.accessToken))).toBe('UNAUTHENTICATED');
    expect(errorCode(await h.gql(ME, {}, first.accessToken))).toBe('UNAUTHENTICATED');
    // Another session of the same user is untouched.
    const other = (await h.gql(LOG_IN, { input: { email: first.email, password: GOOD_PASSWORD } })).body.data!.logIn;
    expect((await h.gql(ME, {}, other.accessToken)).body.data!.me.id).toBe(first.userId);
  });

  it('lets exactly one of two concurrent exchanges of the same token win', async () => {
    const { refreshToken } = await h.signUp('race');
    const results = await Promise.all([h.gql(REFRESH, { t: refreshToken }), h.gql(REFRESH, { t: refreshToken })]);
    expect(results.filter((r) => r.body.data?.refreshSession).length).toBe(1);
  });

  it.each(['', 'garbage', 'a.b.c', `${crypto.randomUUID()}.${crypto.randomUUID()}.${'A'.repeat(43)}`])(
    'rejects the refresh token %j as invalid',
    async (token) => {
      const res = await h.gql(REFRESH, { t: token });
      expect(errorCode(res)).toBe('UNAUTHENTICATED');
      expect(res.body.errors![0]!.message).toMatch(/invalid/);
    },
  );

  it('rejects a real token id with a wrong secret, and the real token still works afterwards', async () => {
    const { refreshToken } = await h.signUp('wrongsecret');
    const [user, id] = refreshToken.split('.');
    expect(errorCode(await h.gql(REFRESH, { t: `${user}.${id}.${'B'.repeat(43)}` }))).toBe('UNAUTHENTICATED');
    expect((await h.gql(REFRESH, { t: refreshToken })).body.data?.refreshSession).toBeTruthy();
  });
});

describe('logOut', () => {
  it('ends the session: its access and refresh tokens stop working', async () => {
    const s = await h.signUp('logout');
    expect((await h.gql('mutation { logOut }', {}, s.accessToken)).body.data!.logOut).toBe(true);
    expect(errorCode(await h.gql(ME, {}, s.accessToken))).toBe('UNAUTHENTICATED');
    const refreshed = await h.gql(REFRESH, { t: s.refreshToken });
    expect(errorCode(refreshed)).toBe('UNAUTHENTICATED');
    expect(refreshed.body.errors![0]!.message).toMatch(/ended/);
  });

  it('needs a signed-in caller', async () => {
    expect(errorCode(await h.gql('mutation { logOut }'))).toBe('UNAUTHENTICATED');
  });
});

describe('admin operations', () => {
  const USERS = `query($first: Int, $after: String, $filter: UserFilter) {
    users(first: $first, after: $after, filter: $filter) { totalCount edges { cursor node { id email role } } pageInfo { hasNextPage endCursor } }
  }`;

  it('are forbidden to learners and need a token', async () => {
    const learner = await h.signUp('nosy');
    expect(errorCode(await h.gql(USERS, {}, learner.accessToken))).toBe('FORBIDDEN');
    expect(errorCode(await h.gql(USERS, {}))).toBe('UNAUTHENTICATED');
    expect(
      errorCode(
        await h.gql(
          `mutation($id: ID!) { deactivateUser(userId: $id) { id } }`,
          { id: learner.userId },
          learner.accessToken,
        ),
      ),
    ).toBe('FORBIDDEN');
  });

  it('lists users newest first, filtered by email and role, page by page', async () => {
    const admin = await h.admin();
    const tag = `page${Date.now()}`;
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await h.signUp(tag));
    const page1 = (
      await h.gql(USERS, { first: 2, filter: { email: tag.toUpperCase(), role: 'LEARNER' } }, admin.accessToken)
    ).body.data!.users;
    expect(page1.totalCount).toBe(3);
    expect(page1.edges.map((e: any) => e.node.id)).toEqual([made[2]!.userId, made[1]!.userId]);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (
      await h.gql(USERS, { first: 2, after: page1.pageInfo.endCursor, filter: { email: tag } }, admin.accessToken)
    ).body.data!.users;
    expect(page2.edges.map((e: any) => e.node.id)).toEqual([made[0]!.userId]);
    expect(page2.pageInfo.hasNextPage).toBe(false);
    const admins = (await h.gql(USERS, { first: 100, filter: { role: 'ADMIN' } }, admin.accessToken)).body.data!.users;
    expect(admins.edges.every((e: any) => e.node.role === 'ADMIN')).toBe(true);
  });

  it.each([
    [{ first: 0 }, 'first'],
    [{ first: 101 }, 'first'],
    [{ first: -5 }, 'first'],
    [{ after: 'not-a-cursor' }, 'after'],
  ])('refuses bad paging %j', async (vars, field) => {
    const admin = await h.admin();
    const res = await h.gql(USERS, vars, admin.accessToken);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.extensions!.field).toBe(field);
  });

  it('changing a role revokes the old tokens; a refresh picks up the new role', async () => {
    const admin = await h.admin();
    const user = await h.signUp('promote');
    const res = await h.gql(
      `mutation($id: ID!) { changeUserRole(userId: $id, role: INSTRUCTOR) { role } }`,
      { id: user.userId },
      admin.accessToken,
    );
    expect(res.body.data!.changeUserRole.role).toBe('INSTRUCTOR');
    expect(errorCode(await h.gql(ME, {}, user.accessToken))).toBe('UNAUTHENTICATED');
    const refreshed = (await h.gql(REFRESH, { t: user.refreshToken })).body.data!.refreshSession;
    expect((await h.gql(ME, {}, refreshed.accessToken)).body.data!.me.role).toBe('INSTRUCTOR');
  });

  it('deactivating a user stops their tokens and their sign-in', async () => {
    const admin = await h.admin();
    const user = await h.signUp('deact');
    const res = await h.gql(
      `mutation($id: ID!) { deactivateUser(userId: $id) { active } }`,
      { id: user.userId },
      admin.accessToken,
    );
    expect(res.body.data!.deactivateUser.active).toBe(false);
    expect(errorCode(await h.gql(ME, {}, user.accessToken))).toBe('UNAUTHENTICATED');
    expect(errorCode(await h.gql(REFRESH, { t: user.refreshToken }))).toBe('UNAUTHENTICATED');
    const login = await h.gql(LOG_IN, { input: { email: user.email, password: GOOD_PASSWORD } });
    expect(errorCode(login)).toBe('FORBIDDEN');
    expect(login.body.errors![0]!.message).toMatch(/deactivated/);
  });

  it('refuses an unknown user id and an admin acting on themself, changing nothing', async () => {
    const admin = await h.admin();
    const unknown = await h.gql(
      `mutation($id: ID!) { deactivateUser(userId: $id) { id } }`,
      { id: crypto.randomUUID() },
      admin.accessToken,
    );
    expect(errorCode(unknown)).toBe('NOT_FOUND');
    const self = await h.gql(
      `mutation($id: ID!) { changeUserRole(userId: $id, role: LEARNER) { id } }`,
      { id: admin.userId },
      admin.accessToken,
    );
    expect(errorCode(self)).toBe('BAD_USER_INPUT');
    expect((await h.app.db.user.findUniqueOrThrow({ where: { id: admin.userId } })).role).toBe('ADMIN');
  });

  it('rotating the signing key keeps issued tokens valid and signs new ones with the new key', async () => {
    const admin = await h.admin();
    const before = await h.signUp('rotation');
    const oldKid = decodeProtectedHeader(before.accessToken).kid;
    const rotated = (await h.gql('mutation { rotateSigningKey { kid retiresAt } }', {}, admin.accessToken)).body.data!
      .rotateSigningKey;
    expect(rotated.kid).not.toBe(oldKid);
    expect((await h.gql(ME, {}, before.accessToken)).body.data!.me.id).toBe(before.userId);
    const after = await h.signUp('rotation');
    expect(decodeProtectedHeader(after.accessToken).kid).toBe(rotated.kid);
    const kids = h.app.keys.jwks().keys.map((k) => k.kid);
    expect(kids).toEqual(expect.arrayContaining([oldKid, rotated.kid]));
    expect(h.app.keys.jwks().keys.every((k) => !('d' in k))).toBe(true);
  });
});

describe('federation', () => {
  it('resolves User references in one batch, null for unknown ids, hiding emails from others', async () => {
    const a = await h.signUp('ref');
    const b = await h.signUp('ref');
    const res = await h.gql(
      `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id name email } } }`,
      {
        reps: [
          { __typename: 'User', id: a.userId },
          { __typename: 'User', id: crypto.randomUUID() },
          { __typename: 'User', id: b.userId },
        ],
      },
      a.accessToken,
    );
    const [first, missing, second] = res.body.data!._entities;
    expect(first).toMatchObject({ id: a.userId, email: a.email });
    expect(missing).toBeNull();
    expect(second).toMatchObject({ id: b.userId, email: null });
  });
});

function tokenSettings() {
  return {
    issuer: h.config.authIssuer,
    audience: h.config.authAudience,
    accessTtlSeconds: h.config.accessTtlSeconds,
    refreshTtlSeconds: h.config.refreshTtlSeconds,
  };
}
