/**
 * Flags' admin API: only admins read or change flags; every change writes an audit row (who, the
 * flag before and after) and flags.flag.changed with the whole flag in the same transaction; hostile
 * input gets a specific BAD_USER_INPUT and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBinary } from '@bufbuild/protobuf';
import { FlagsEvents } from '@coursegraph/contracts';
import { errorCode } from '@coursegraph/test-support';
import { FLAG_FIELDS, startFlagsService, uniqueKey, type FlagsHarness } from './harness.js';

let h: FlagsHarness;
let admin: { token: string; userId: string };
beforeAll(async () => {
  h = await startFlagsService();
  admin = await h.admin();
});
afterAll(() => h?.close());

const CREATE = `mutation($i: CreateFlagInput!) { createFlag(input: $i) { ${FLAG_FIELDS} } }`;
const UPDATE = `mutation($i: UpdateFlagInput!) { updateFlag(input: $i) { ${FLAG_FIELDS} } }`;
const ENABLE = `mutation($k: String!, $e: Boolean!) { setFlagEnabled(key: $k, enabled: $e) { ${FLAG_FIELDS} } }`;
const DELETE = `mutation($k: String!) { deleteFlag(key: $k) { key version } }`;
const FLAG = `query($k: String!) { flag(key: $k) { ${FLAG_FIELDS} } }`;
const AUDIT = `query($k: String!) { flagAudit(key: $k) { flagKey action actor { id } at before { version enabled rolloutPercent } after { version enabled rolloutPercent } } }`;

const abTest = (key: string) => ({
  key,
  description: 'ranking experiment',
  variants: [
    { key: 'newest', weight: 50 },
    { key: 'popular', weight: 50 },
  ],
  defaultVariant: 'newest',
  rolloutPercent: 20,
  rules: [{ attribute: 'role', operator: 'IN', values: ['ADMIN'], variant: 'popular' }],
});

/** The flag's events in the outbox, oldest first, decoded. */
async function outboxOf(key: string) {
  const rows = await h.app.db.outboxEvent.findMany({
    where: { subject: FlagsEvents.changed.subject },
    orderBy: { id: 'asc' },
  });
  return rows.map((r) => fromBinary(FlagsEvents.changed.schema, r.payload)).filter((e) => e.key === key);
}

describe('admins only', () => {
  it('refuses anonymous callers, learners and instructors, for reads and changes', async () => {
    const key = uniqueKey('admins-only');
    for (const token of [
      undefined,
      (await h.issuer.token('LEARNER')).token,
      (await h.issuer.token('INSTRUCTOR')).token,
    ]) {
      const expected = token ? 'FORBIDDEN' : 'UNAUTHENTICATED';
      expect(errorCode(await h.gql(CREATE, { i: { key } }, token))).toBe(expected);
      expect(errorCode(await h.gql('{ flags { key } }', {}, token))).toBe(expected);
      expect(errorCode(await h.gql(ENABLE, { k: 'tutor', e: false }, token))).toBe(expected);
      expect(errorCode(await h.gql(`{ flagExposures(key: "tutor") { count } }`, {}, token))).toBe(expected);
    }
    expect(await h.app.db.flag.findUnique({ where: { key } })).toBeNull();
  });
});

describe('changes, their audit rows and events', () => {
  it('creates an on/off flag by default, off for everyone but as the rollout says', async () => {
    const key = uniqueKey('plain');
    const res = await h.gql(CREATE, { i: { key } }, admin.token);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.createFlag).toMatchObject({
      key,
      enabled: true,
      defaultVariant: 'off',
      variants: [
        { key: 'on', weight: 100 },
        { key: 'off', weight: 0 },
      ],
      rolloutPercent: 0,
      rules: [],
      version: 1,
      updatedBy: { id: admin.userId },
    });
  });

  it('records who changed what, before and after, and publishes the whole flag each time', async () => {
    const key = uniqueKey('audited');
    expect((await h.gql(CREATE, { i: abTest(key) }, admin.token)).body.errors).toBeUndefined();
    const other = await h.admin();
    const updated = await h.gql(UPDATE, { i: { key, rolloutPercent: 60, expectedVersion: 1 } }, other.token);
    expect(updated.body.data!.updateFlag).toMatchObject({
      rolloutPercent: 60,
      version: 2,
      updatedBy: { id: other.userId },
    });
    expect((await h.gql(ENABLE, { k: key, e: false }, admin.token)).body.data!.setFlagEnabled).toMatchObject({
      enabled: false,
      version: 3,
    });
    // Switching it off again changes nothing: no version, no audit row, no event.
    expect((await h.gql(ENABLE, { k: key, e: false }, admin.token)).body.data!.setFlagEnabled.version).toBe(3);

    const audit = (await h.gql(AUDIT, { k: key }, admin.token)).body.data!.flagAudit;
    expect(audit.map((a: { action: string }) => a.action)).toEqual(['DISABLED', 'UPDATED', 'CREATED']);
    expect(audit[1]).toMatchObject({
      actor: { id: other.userId },
      before: { version: 1, rolloutPercent: 20 },
      after: { version: 2, rolloutPercent: 60 },
    });
    expect(audit[0]).toMatchObject({ before: { enabled: true }, after: { enabled: false, version: 3 } });
    expect(audit[2]).toMatchObject({ actor: { id: admin.userId }, before: null, after: { version: 1 } });

    const events = await outboxOf(key);
    expect(events.map((e) => [e.action, e.version, e.enabled])).toEqual([
      ['CREATED', 1, true],
      ['UPDATED', 2, true],
      ['DISABLED', 3, false],
    ]);
    expect(events[1]).toMatchObject({
      defaultVariant: 'newest',
      rolloutPercent: 60,
      variants: [
        { key: 'newest', weight: 50 },
        { key: 'popular', weight: 50 },
      ],
      rules: [{ attribute: 'role', operator: 'IN', values: ['ADMIN'], variant: 'popular' }],
      updatedBy: other.userId,
    });
  });

  it('refuses a change made against a version that is gone', async () => {
    const key = uniqueKey('stale');
    await h.gql(CREATE, { i: { key } }, admin.token);
    await h.gql(UPDATE, { i: { key, rolloutPercent: 10 } }, admin.token);
    const stale = await h.gql(UPDATE, { i: { key, rolloutPercent: 90, expectedVersion: 1 } }, admin.token);
    expect(errorCode(stale)).toBe('CONFLICT');
    expect((await h.gql(FLAG, { k: key }, admin.token)).body.data!.flag).toMatchObject({
      rolloutPercent: 10,
      version: 2,
    });
  });

  it('deletes a flag as a tombstone, and a new flag of that key goes on counting versions', async () => {
    const key = uniqueKey('deleted');
    await h.gql(CREATE, { i: { key } }, admin.token);
    expect((await h.gql(DELETE, { k: key }, admin.token)).body.data!.deleteFlag).toEqual({ key, version: 1 });
    expect((await h.gql(FLAG, { k: key }, admin.token)).body.data!.flag).toBeNull();
    expect(errorCode(await h.gql(DELETE, { k: key }, admin.token))).toBe('NOT_FOUND');
    expect((await h.gql(CREATE, { i: { key } }, admin.token)).body.data!.createFlag.version).toBe(3);
    expect(errorCode(await h.gql(CREATE, { i: { key } }, admin.token))).toBe('CONFLICT');
    const events = await outboxOf(key);
    expect(events.map((e) => [e.action, e.version, e.deleted])).toEqual([
      ['CREATED', 1, false],
      ['DELETED', 2, true],
      ['CREATED', 3, false],
    ]);
  });
});

describe('hostile input', () => {
  const refused = async (mutation: string, variables: Record<string, unknown>, field: RegExp) => {
    const res = await h.gql(mutation, variables, admin.token);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.extensions!.field).toMatch(field);
    return res;
  };

  it('refuses a rollout of 101 (or -1), and leaves the flag as it was', async () => {
    const key = uniqueKey('rollout');
    await h.gql(CREATE, { i: abTest(key) }, admin.token);
    await refused(UPDATE, { i: { key, rolloutPercent: 101 } }, /^rolloutPercent$/);
    await refused(UPDATE, { i: { key, rolloutPercent: -1 } }, /^rolloutPercent$/);
    await refused(CREATE, { i: { ...abTest(uniqueKey('rollout')), rolloutPercent: 101 } }, /^rolloutPercent$/);
    expect((await h.gql(FLAG, { k: key }, admin.token)).body.data!.flag).toMatchObject({
      rolloutPercent: 20,
      version: 1,
    });
    expect(await h.app.db.flagAudit.count({ where: { flagKey: key } })).toBe(1);
  });

  it('refuses an unknown variant as default or in a rule, and weights that do not add up to 100', async () => {
    const key = uniqueKey('variants');
    await h.gql(CREATE, { i: abTest(key) }, admin.token);
    await refused(UPDATE, { i: { key, defaultVariant: 'trending' } }, /^defaultVariant$/);
    await refused(
      UPDATE,
      { i: { key, rules: [{ attribute: 'role', operator: 'IN', values: ['LEARNER'], variant: 'trending' }] } },
      /^rules\[0\]$/,
    );
    // Dropping a variant that the default still names is refused too: the whole flag is checked.
    await refused(UPDATE, { i: { key, variants: [{ key: 'popular', weight: 100 }] } }, /^defaultVariant$/);
    await refused(
      UPDATE,
      {
        i: {
          key,
          variants: [
            { key: 'newest', weight: 60 },
            { key: 'popular', weight: 60 },
          ],
        },
      },
      /^variants$/,
    );
    await refused(
      UPDATE,
      {
        i: {
          key,
          variants: [
            { key: 'newest', weight: 50 },
            { key: 'newest', weight: 50 },
          ],
        },
      },
      /^variants$/,
    );
    await refused(
      UPDATE,
      { i: { key, rules: [{ attribute: 'role', operator: 'EQUALS', values: ['A', 'B'], variant: 'popular' }] } },
      /^rules\[0\]$/,
    );
    expect((await h.gql(FLAG, { k: key }, admin.token)).body.data!.flag.version).toBe(1);
  });

  it('refuses a 10,000-character key without echoing it, and finds no flag by it', async () => {
    const key = 'k'.repeat(10_000);
    const res = await refused(CREATE, { i: { key } }, /^key$/);
    expect(res.body.errors![0]!.message.length).toBeLessThan(200);
    await refused(ENABLE, { k: key, e: false }, /^key$/);
    expect((await h.gql(FLAG, { k: key }, admin.token)).body.data!.flag).toBeNull();
    for (const bad of ['Tutor', 'tutor!', '-tutor', '', 'a'.repeat(64)])
      await refused(CREATE, { i: { key: bad } }, /^key$/);
    await refused(CREATE, { i: { key: uniqueKey('long'), description: 'd'.repeat(501) } }, /^description$/);
    expect(await h.app.db.flag.count({ where: { key: { startsWith: 'long-' } } })).toBe(0);
  });
});
