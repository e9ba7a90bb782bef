/**
 * The events a request causes carry the caller's traceparent (sign-up, resend, verification,
 * deactivation); a malformed traceparent is ignored: the event starts a trace of its own.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBinary } from '@bufbuild/protobuf';
import { IdentityEvents } from '@coursegraph/contracts';
import { isTraceparent, newTraceparent } from '@coursegraph/service-kit';
import { startIdentity, type IdentityHarness } from './harness.js';

let h: IdentityHarness;
beforeAll(async () => {
  h = await startIdentity();
});
afterAll(async () => {
  await h.close();
});

const PASSWORD = 'violet-otter-staircase';

/** POSTs an operation with a traceparent header; fails the test on any error. */
async function traced(query: string, variables: Record<string, unknown>, traceparent: string, token?: string) {
  const res = await h.app.yoga.fetch('http://identity.test/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      traceparent,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(`unexpected errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** The subjects of the outbox events written on this trace, sorted. */
async function subjectsOn(traceparent: string) {
  const rows = await h.app.db.outboxEvent.findMany({ where: { traceparent }, select: { subject: true } });
  return rows.map((r) => r.subject).sort();
}

const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { id email } } }`;
const signUpInput = (tag: string) => ({
  input: { email: `${tag}-${randomUUID()}@test.coursegraph.dev`, password: PASSWORD, name: `Trace ${tag}` },
});

describe('traces', () => {
  it("carries the caller's traceparent into every event identity's mutations write", async () => {
    const signUpTrace = newTraceparent();
    const { signUp } = await traced(SIGN_UP, signUpInput('traced'), signUpTrace);
    expect(await subjectsOn(signUpTrace)).toEqual(
      [IdentityEvents.emailVerificationRequested.subject, IdentityEvents.userRegistered.subject].sort(),
    );

    const resendTrace = newTraceparent();
    await traced(`mutation { resendVerificationEmail }`, {}, resendTrace, signUp.accessToken);
    const [request] = await h.app.db.outboxEvent.findMany({ where: { traceparent: resendTrace } });
    expect(request?.subject).toBe(IdentityEvents.emailVerificationRequested.subject);

    const verifyTrace = newTraceparent();
    const { token } = fromBinary(IdentityEvents.emailVerificationRequested.schema, request!.payload);
    await traced(`mutation($t: String!) { verifyEmail(token: $t) { id } }`, { t: token }, verifyTrace);
    expect(await subjectsOn(verifyTrace)).toEqual([IdentityEvents.emailVerified.subject]);

    const admin = await h.admin();
    const deactivateTrace = newTraceparent();
    await traced(
      `mutation($id: ID!) { deactivateUser(userId: $id) { active } }`,
      { id: signUp.user.id },
      deactivateTrace,
      admin.accessToken,
    );
    expect(await subjectsOn(deactivateTrace)).toEqual([IdentityEvents.userDeactivated.subject]);
  });

  it('ignores a malformed traceparent: the sign-up succeeds and its events start a trace of their own', async () => {
    const malformed = '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01';
    const { signUp } = await traced(SIGN_UP, signUpInput('untraced'), malformed);
    const rows = await h.app.db.outboxEvent.findMany({
      where: { subject: IdentityEvents.userRegistered.subject },
      orderBy: { id: 'desc' },
      take: 2000,
    });
    const registered = rows.filter(
      (r) => fromBinary(IdentityEvents.userRegistered.schema, r.payload).userId === signUp.user.id,
    );
    expect(registered).toHaveLength(1);
    expect(isTraceparent(registered[0]!.traceparent)).toBe(true);
    expect(await h.app.db.outboxEvent.count({ where: { traceparent: malformed } })).toBe(0);
  });
});
