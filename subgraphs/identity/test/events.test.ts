import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBinary } from '@bufbuild/protobuf';
import { IdentityEvents, type EventType } from '@coursegraph/contracts';
import { newId } from '@coursegraph/service-kit';
import { announceUnannouncedUsers } from '../src/seed.js';
import { startIdentity, type IdentityHarness } from './harness.js';

let h: IdentityHarness;
beforeAll(async () => {
  h = await startIdentity();
});
afterAll(async () => {
  await h.close();
});

async function outboxPayloads<E extends EventType>(type: E, userId: string) {
  const rows = await h.app.db.outboxEvent.findMany({
    where: { subject: type.subject },
    orderBy: { id: 'desc' },
    take: 2000,
  });
  return rows.map((r) => fromBinary(type.schema, r.payload) as any).filter((p) => p.userId === userId);
}

describe('identity events', () => {
  it('announces a sign-up with the address and name, in the outbox', async () => {
    const user = await h.signUp('announced');
    const events = await outboxPayloads(IdentityEvents.userRegistered, user.userId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ email: user.email, name: 'Test announced', role: 'LEARNER' });
  });

  it('announces a deactivation once, and a refused sign-up announces nothing', async () => {
    const admin = await h.admin();
    const user = await h.signUp('leaving');
    const deactivate = `mutation($id: ID!) { deactivateUser(userId: $id) { active } }`;
    await h.gql(deactivate, { id: user.userId }, admin.accessToken);
    await h.gql(deactivate, { id: user.userId }, admin.accessToken);
    expect(await outboxPayloads(IdentityEvents.userDeactivated, user.userId)).toHaveLength(1);

    const again = await h.gql(`mutation($i: SignUpInput!) { signUp(input: $i) { accessToken } }`, {
      i: { email: user.email, password: 'another-Good-password-1', name: 'Twice' },
    });
    expect(again.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(await outboxPayloads(IdentityEvents.userRegistered, user.userId)).toHaveLength(1);
  });

  it('announces accounts created before identity had events, once', async () => {
    const id = newId();
    const email = `legacy-${id}@example.com`;
    await h.app.db.user.create({ data: { id, email, emailKey: email, name: 'Legacy', passwordHash: 'x' } });
    expect(await announceUnannouncedUsers(h.app.db)).toBeGreaterThanOrEqual(1);
    expect(await outboxPayloads(IdentityEvents.userRegistered, id)).toMatchObject([{ email, name: 'Legacy' }]);
    expect(await announceUnannouncedUsers(h.app.db)).toBe(0);
  });
});
