/**
 * A user's private fields (email, role, active) are shown only to the user themself and to admins;
 * anyone else reads null, with no error, on every path that reaches a user: `me`, `user(id:)`,
 * `users` (admins only), and `_entities` as the gateway resolves references (forwarding the
 * caller's token, or none). signUp, logIn and refreshSession show the signed-in user their own
 * fields although the request carried no token: the gateway's explorer reads `logIn { user { role } }`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, uniqueEmail } from '@coursegraph/test-support';
import { startIdentity, type IdentityHarness } from './harness.js';

const PRIVATE = 'id name email role active';
const ENTITIES = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { ${PRIVATE} } } }`;
const USER = `query($id: ID!) { user(id: $id) { ${PRIVATE} } }`;
const ME = `{ me { ${PRIVATE} } }`;
const USERS = `query($email: String!) { users(first: 5, filter: { email: $email }) { edges { node { ${PRIVATE} } } } }`;
const PAYLOAD_USER = `user { ${PRIVATE} }`;

let h: IdentityHarness;
let admin: { userId: string; accessToken: string };
/** A learner whose fields are looked at, deactivated so that `active` is worth hiding. */
let target: Awaited<ReturnType<IdentityHarness['signUp']>>;
let other: Awaited<ReturnType<IdentityHarness['signUp']>>;
let instructor: { userId: string; accessToken: string };

beforeAll(async () => {
  h = await startIdentity();
  admin = await h.admin();
  target = await h.signUp('private');
  other = await h.signUp('other');
  const promoted = await h.signUp('instructor');
  await h.app.db.user.update({ where: { id: promoted.userId }, data: { role: 'INSTRUCTOR' } });
  const login = await h.gql(`mutation($input: LogInInput!) { logIn(input: $input) { accessToken } }`, {
    input: { email: promoted.email, password: GOOD_PASSWORD },
  });
  instructor = { userId: promoted.userId, accessToken: login.body.data!.logIn.accessToken };
});
afterAll(async () => {
  await h.close();
});

const hidden = () => ({ id: target.userId, name: 'Test private', email: null, role: null, active: null });
const shown = (active = true) => ({
  id: target.userId,
  name: 'Test private',
  email: target.email,
  role: 'LEARNER',
  active,
});

/** The target as `_entities` and `user(id:)` show it to the holder of `token` (none: anonymous); no errors. */
async function targetAsSeenWith(token?: string) {
  const entities = await h.gql(ENTITIES, { reps: [{ __typename: 'User', id: target.userId }] }, token);
  const byId = await h.gql(USER, { id: target.userId }, token);
  expect(entities.body.errors).toBeUndefined();
  expect(byId.body.errors).toBeUndefined();
  return { entity: entities.body.data!._entities[0], user: byId.body.data!.user };
}

describe('User.email, role and active', () => {
  it('are null, with no error, for an anonymous caller, through references and user(id:)', async () => {
    expect(await targetAsSeenWith()).toEqual({ entity: hidden(), user: hidden() });
    const me = await h.gql(ME);
    expect(me.body).toEqual({ data: { me: null } });
  });

  it('are null for another learner and for an instructor, who see only their own', async () => {
    expect(await targetAsSeenWith(other.accessToken)).toEqual({ entity: hidden(), user: hidden() });
    expect(await targetAsSeenWith(instructor.accessToken)).toEqual({ entity: hidden(), user: hidden() });
    const own = await h.gql(ME, {}, other.accessToken);
    expect(own.body.errors).toBeUndefined();
    expect(own.body.data!.me).toEqual({
      id: other.userId,
      name: 'Test other',
      email: other.email,
      role: 'LEARNER',
      active: true,
    });
    const instructorMe = await h.gql(ME, {}, instructor.accessToken);
    expect(instructorMe.body.data!.me).toMatchObject({ id: instructor.userId, role: 'INSTRUCTOR', active: true });
  });

  it('are shown to the user themself, on every path', async () => {
    expect(await targetAsSeenWith(target.accessToken)).toEqual({ entity: shown(), user: shown() });
    const me = await h.gql(ME, {}, target.accessToken);
    expect(me.body).toEqual({ data: { me: shown() } });
  });

  it('in one batch of references, show the caller only their own', async () => {
    const res = await h.gql(
      ENTITIES,
      {
        reps: [
          { __typename: 'User', id: other.userId },
          { __typename: 'User', id: target.userId },
          { __typename: 'User', id: admin.userId },
        ],
      },
      other.accessToken,
    );
    expect(res.body.errors).toBeUndefined();
    const [own, someone, anAdmin] = res.body.data!._entities;
    expect(own).toMatchObject({ id: other.userId, email: other.email, role: 'LEARNER', active: true });
    expect(someone).toEqual(hidden());
    expect(anAdmin).toMatchObject({ id: admin.userId, email: null, role: null, active: null });
  });

  it('are shown to an admin, in references, user(id:) and the users list, including a deactivation', async () => {
    const deactivatedUser = await h.signUp('deactivated');
    const deactivate = await h.gql(
      `mutation($id: ID!) { deactivateUser(userId: $id) { id role active } }`,
      { id: deactivatedUser.userId },
      admin.accessToken,
    );
    expect(deactivate.body).toEqual({
      data: { deactivateUser: { id: deactivatedUser.userId, role: 'LEARNER', active: false } },
    });

    expect(await targetAsSeenWith(admin.accessToken)).toEqual({ entity: shown(), user: shown() });
    const list = await h.gql(USERS, { email: target.email }, admin.accessToken);
    expect(list.body.errors).toBeUndefined();
    expect(list.body.data!.users.edges.map((e: any) => e.node)).toEqual([shown()]);

    const ref = await h.gql(
      ENTITIES,
      { reps: [{ __typename: 'User', id: deactivatedUser.userId }] },
      admin.accessToken,
    );
    expect(ref.body.data!._entities[0]).toMatchObject({ role: 'LEARNER', active: false });
    // Whether an account was deactivated is not anyone else's business either.
    const anonymous = await h.gql(ENTITIES, { reps: [{ __typename: 'User', id: deactivatedUser.userId }] });
    expect(anonymous.body.data!._entities[0]).toMatchObject({ email: null, role: null, active: null });
  });

  it('the users list stays refused to anyone but admins', async () => {
    const res = await h.gql(USERS, { email: target.email }, other.accessToken);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('the payload of signUp, logIn and refreshSession', () => {
  it('shows the signed-in user their own fields although the request carried no token', async () => {
    const email = uniqueEmail('payload');
    const signUp = await h.gql(
      `mutation($input: SignUpInput!) { signUp(input: $input) { refreshToken ${PAYLOAD_USER} } }`,
      {
        input: { email, password: GOOD_PASSWORD, name: 'Payload' },
      },
    );
    expect(signUp.body.errors).toBeUndefined();
    expect(signUp.body.data!.signUp.user).toMatchObject({ email, role: 'LEARNER', active: true });

    const logIn = await h.gql(
      `mutation($input: LogInInput!) { logIn(input: $input) { refreshToken ${PAYLOAD_USER} } }`,
      {
        input: { email, password: GOOD_PASSWORD },
      },
    );
    expect(logIn.body.errors).toBeUndefined();
    expect(logIn.body.data!.logIn.user).toMatchObject({ email, role: 'LEARNER', active: true });

    const refresh = await h.gql(`mutation($t: String!) { refreshSession(refreshToken: $t) { ${PAYLOAD_USER} } }`, {
      t: logIn.body.data!.logIn.refreshToken,
    });
    expect(refresh.body.errors).toBeUndefined();
    expect(refresh.body.data!.refreshSession.user).toMatchObject({ email, role: 'LEARNER', active: true });
  });

  it("shows an admin's role to the explorer's own tokenless sign-in", async () => {
    // The gateway's explorer runs exactly this in-process, without a token, and admits only ADMIN.
    const adminUser = await h.signUp('explorer');
    await h.app.db.user.update({ where: { id: adminUser.userId }, data: { role: 'ADMIN' } });
    const res = await h.gql(
      `mutation ExplorerLogIn($input: LogInInput!) {
      logIn(input: $input) { accessToken accessTokenExpiresAt user { role } }
    }`,
      { input: { email: adminUser.email, password: GOOD_PASSWORD } },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.logIn.user).toEqual({ role: 'ADMIN' });
  });

  it('shows them for that request only: the next anonymous one reads null again', async () => {
    const res = await h.gql(`mutation($input: LogInInput!) { logIn(input: $input) { ${PAYLOAD_USER} } }`, {
      input: { email: target.email, password: GOOD_PASSWORD },
    });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.logIn.user).toEqual(shown());
    expect(await targetAsSeenWith()).toEqual({ entity: hidden(), user: hidden() });
  });
});
