/**
 * Email verification: sign-up mails (through the outbox event) a single-use, expiring token whose
 * hash only is stored; verifyEmail marks the account verified once and announces it; every hostile
 * token is refused with a specific reason and changes nothing; resends are for the signed-in user,
 * supersede older tokens and are limited per user.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBinary } from '@bufbuild/protobuf';
import { IdentityEvents, type EventType } from '@coursegraph/contracts';
import { newId } from '@coursegraph/service-kit';
import { hashSecret } from '../src/domain/tokens.js';
import { demoUsers, verifyDemoAddresses } from '../src/seed.js';
import { startIdentity, type IdentityHarness } from './harness.js';

let h: IdentityHarness;
beforeAll(async () => {
  h = await startIdentity({ EMAIL_VERIFICATION_RESEND_LIMIT: '2', EMAIL_VERIFICATION_TTL_MINUTES: '30' });
});
afterAll(async () => {
  await h.close();
});

const VERIFY = `mutation($t: String!) { verifyEmail(token: $t) { id email emailVerified } }`;
const RESEND = `mutation { resendVerificationEmail }`;
const ME = `{ me { id emailVerified } }`;

async function payloads<E extends EventType>(type: E, userId: string) {
  const rows = await h.app.db.outboxEvent.findMany({ where: { subject: type.subject }, orderBy: { id: 'asc' } });
  return rows.map((r) => fromBinary(type.schema, r.payload) as any).filter((p) => p.userId === userId);
}

/** The token of the latest verification mail asked for this user, as notification receives it. */
async function latestToken(userId: string): Promise<string> {
  const requests = await payloads(IdentityEvents.emailVerificationRequested, userId);
  return requests.at(-1)!.token as string;
}

const reasonOf = (res: { body: { errors?: { extensions?: Record<string, unknown> }[] } }) =>
  res.body.errors?.[0]?.extensions;

async function unchanged(userId: string) {
  expect((await h.app.db.user.findUniqueOrThrow({ where: { id: userId } })).emailVerifiedAt).toBeNull();
  expect(await payloads(IdentityEvents.emailVerified, userId)).toEqual([]);
}

describe('sign-up asks for verification', () => {
  it('stores only the hash of a 256-bit token that expires, and announces the raw token for the mail', async () => {
    const user = await h.signUp('verify');
    const [request] = await payloads(IdentityEvents.emailVerificationRequested, user.userId);
    expect(request).toMatchObject({ email: user.email, name: 'Test verify' });
    const [userId, tokenId, secret] = (request.token as string).split('.');
    expect(userId).toBe(user.userId);
    expect(Buffer.from(secret!, 'base64url')).toHaveLength(32);
    const row = await h.app.db.emailVerificationToken.findUniqueOrThrow({
      where: { userId_id: { userId: user.userId, id: tokenId! } },
    });
    expect(row.secretHash).toBe(hashSecret(secret!));
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBe(30 * 60_000);
    expect(new Date(request.expiresAt).getTime()).toBe(row.expiresAt.getTime());
    const registered = await payloads(IdentityEvents.userRegistered, user.userId);
    expect(registered).toMatchObject([{ emailVerifiedAt: '' }]);
    expect((await h.gql(ME, {}, user.accessToken)).body.data!.me).toEqual({ id: user.userId, emailVerified: false });
  });

  it('verifyEmail marks the account verified (no sign-in needed), announces it once, and the token works only once', async () => {
    const user = await h.signUp('verified');
    const token = await latestToken(user.userId);
    const res = await h.gql(VERIFY, { t: token });
    // Anonymous: the account is returned, its private fields are not shown.
    expect(res.body.data!.verifyEmail).toEqual({ id: user.userId, email: null, emailVerified: null });
    expect((await h.gql(ME, {}, user.accessToken)).body.data!.me.emailVerified).toBe(true);
    expect(await payloads(IdentityEvents.emailVerified, user.userId)).toMatchObject([{ email: user.email }]);

    const replay = await h.gql(VERIFY, { t: token }, user.accessToken);
    expect(reasonOf(replay)).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOKEN_USED', field: 'token' });
    expect(await payloads(IdentityEvents.emailVerified, user.userId)).toHaveLength(1);
  });

  it('signed in, the user sees their own state change', async () => {
    const user = await h.signUp('self');
    const res = await h.gql(VERIFY, { t: await latestToken(user.userId) }, user.accessToken);
    expect(res.body.data!.verifyEmail).toEqual({ id: user.userId, email: user.email, emailVerified: true });
  });

  it('two concurrent uses of one token: one verifies, the other is refused as used', async () => {
    const user = await h.signUp('race');
    const token = await latestToken(user.userId);
    const results = await Promise.all([h.gql(VERIFY, { t: token }), h.gql(VERIFY, { t: token })]);
    expect(results.filter((r) => r.body.data?.verifyEmail).length).toBe(1);
    expect(results.map((r) => reasonOf(r)?.reason).filter(Boolean)).toEqual(['TOKEN_USED']);
    expect(await payloads(IdentityEvents.emailVerified, user.userId)).toHaveLength(1);
  });
});

describe('hostile tokens are refused and change nothing', () => {
  it('garbage: not of the token format', async () => {
    const user = await h.signUp('garbage');
    for (const garbage of [
      '',
      'abc',
      `${user.userId}`,
      `${user.userId}.x.y`,
      `${user.userId}.${newId()}.${'A'.repeat(42)}`,
      'x'.repeat(10_000),
      "'; drop table users; --",
    ]) {
      const res = await h.gql(VERIFY, { t: garbage });
      expect(reasonOf(res)).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOKEN_MALFORMED' });
    }
    await unchanged(user.userId);
  });

  it('a well-formed token that was never issued, and a real token id and secret under another user id', async () => {
    const [a, b] = [await h.signUp('owner'), await h.signUp('thief')];
    const [, tokenId, secret] = (await latestToken(a.userId)).split('.');
    expect(reasonOf(await h.gql(VERIFY, { t: `${a.userId}.${newId()}.${'A'.repeat(43)}` }))).toMatchObject({
      reason: 'TOKEN_UNKNOWN',
    });
    expect(reasonOf(await h.gql(VERIFY, { t: `${a.userId}.${tokenId}.${'B'.repeat(43)}` }))).toMatchObject({
      reason: 'TOKEN_UNKNOWN',
    });
    expect(reasonOf(await h.gql(VERIFY, { t: `${b.userId}.${tokenId}.${secret}` }))).toMatchObject({
      reason: 'TOKEN_UNKNOWN',
    });
    await unchanged(a.userId);
    await unchanged(b.userId);
  });

  it('a token of another account, presented by a signed-in user, is FORBIDDEN', async () => {
    const [a, b] = [await h.signUp('victim'), await h.signUp('other')];
    const res = await h.gql(VERIFY, { t: await latestToken(a.userId) }, b.accessToken);
    expect(reasonOf(res)).toMatchObject({ code: 'FORBIDDEN' });
    await unchanged(a.userId);
    await unchanged(b.userId);
    // The owner's token still works afterwards.
    expect(
      (await h.gql(VERIFY, { t: await latestToken(a.userId) }, a.accessToken)).body.data!.verifyEmail.emailVerified,
    ).toBe(true);
  });

  it('an expired token', async () => {
    const user = await h.signUp('expired');
    const token = await latestToken(user.userId);
    await h.app.db.emailVerificationToken.updateMany({
      where: { userId: user.userId },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect(reasonOf(await h.gql(VERIFY, { t: token }))).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'TOKEN_EXPIRED',
    });
    await unchanged(user.userId);
  });

  it('a token superseded by a resend', async () => {
    const user = await h.signUp('superseded');
    const first = await latestToken(user.userId);
    expect((await h.gql(RESEND, {}, user.accessToken)).body.data).toEqual({ resendVerificationEmail: true });
    const second = await latestToken(user.userId);
    expect(second).not.toBe(first);
    expect(reasonOf(await h.gql(VERIFY, { t: first }))).toMatchObject({ reason: 'TOKEN_SUPERSEDED' });
    await unchanged(user.userId);
    expect((await h.gql(VERIFY, { t: second }, user.accessToken)).body.data!.verifyEmail.emailVerified).toBe(true);
  });
});

describe('resendVerificationEmail', () => {
  it('needs a signed-in user, is limited per user, and is refused once verified', async () => {
    expect(reasonOf(await h.gql(RESEND))).toMatchObject({ code: 'UNAUTHENTICATED' });
    const user = await h.signUp('resend');
    const other = await h.signUp('resend-other');
    expect((await h.gql(RESEND, {}, user.accessToken)).body.data).toEqual({ resendVerificationEmail: true });
    expect((await h.gql(RESEND, {}, user.accessToken)).body.data).toEqual({ resendVerificationEmail: true });
    const limited = await h.gql(RESEND, {}, user.accessToken);
    expect(reasonOf(limited)).toMatchObject({ code: 'RATE_LIMITED', reason: 'VERIFICATION_RESEND_LIMIT' });
    expect(reasonOf(limited)!.retryAfterSeconds).toBeGreaterThan(0);
    // The sign-up's request and two resends: the refused one wrote nothing.
    expect(await payloads(IdentityEvents.emailVerificationRequested, user.userId)).toHaveLength(3);
    // Another user's limit is their own.
    expect((await h.gql(RESEND, {}, other.accessToken)).body.data).toEqual({ resendVerificationEmail: true });

    await h.gql(VERIFY, { t: await latestToken(other.userId) });
    expect(reasonOf(await h.gql(RESEND, {}, other.accessToken))).toMatchObject({ code: 'CONFLICT' });
  });
});

describe('who sees emailVerified', () => {
  it('the user and admins; null for anyone else', async () => {
    const admin = await h.admin();
    const user = await h.signUp('visible');
    const other = await h.signUp('looker');
    const q = `query($id: ID!) { user(id: $id) { emailVerified } }`;
    expect((await h.gql(q, { id: user.userId })).body.data!.user.emailVerified).toBeNull();
    expect((await h.gql(q, { id: user.userId }, other.accessToken)).body.data!.user.emailVerified).toBeNull();
    expect((await h.gql(q, { id: user.userId }, user.accessToken)).body.data!.user.emailVerified).toBe(false);
    expect((await h.gql(q, { id: user.userId }, admin.accessToken)).body.data!.user.emailVerified).toBe(false);
    const entities = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { emailVerified } } }`;
    expect((await h.gql(entities, { r: [{ __typename: 'User', id: user.userId }] })).body.data!._entities).toEqual([
      { emailVerified: null },
    ]);
  });
});

describe('demo accounts', () => {
  it('demo addresses made before verification existed are verified and announced once', async () => {
    const [demo] = demoUsers(0, 0);
    const id = newId();
    const email = `legacy-demo-${id}@coursegraph.dev`;
    await h.app.db.user.create({ data: { id, email, emailKey: email, name: 'Legacy demo', passwordHash: 'x' } });
    expect(await verifyDemoAddresses(h.app.db, [{ ...demo!, email }])).toBe(1);
    expect((await h.app.db.user.findUniqueOrThrow({ where: { id } })).emailVerifiedAt).not.toBeNull();
    expect(await payloads(IdentityEvents.emailVerified, id)).toMatchObject([{ email }]);
    expect(await verifyDemoAddresses(h.app.db, [{ ...demo!, email }])).toBe(0);
  });
});
