/**
 * The user loader's plain SQL (src/data/hot-reads.ts, DB_HOT_READS=sql) gives exactly what the
 * Prisma path gives: the same User rows (nulls and dates, a deactivated instructor, a verified
 * address), and the same answers to entity references, unknown and malformed ids included.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextDatabaseUrl } from '@coursegraph/test-support';
import { createDatabase } from '../src/data/db.js';
import { createUserLoader } from '../src/data/users.js';
import { startIdentity, type IdentityHarness } from './harness.js';

let sqlApp: IdentityHarness;
let prismaApp: IdentityHarness;
let both: ReturnType<typeof createDatabase>;
const userIds: string[] = [];

beforeAll(async () => {
  [sqlApp, prismaApp] = await Promise.all([
    startIdentity({ DB_HOT_READS: 'sql' }),
    startIdentity({ DB_HOT_READS: 'prisma' }),
  ]);
  both = createDatabase(contextDatabaseUrl('identity'), { poolSize: 2, hotReads: 'sql' });
  for (const tag of ['plain', 'instructor', 'verified']) userIds.push((await sqlApp.signUp(tag)).userId);
  await both.db.user.update({
    where: { id: userIds[1] },
    data: { role: 'INSTRUCTOR', deactivatedAt: new Date('2026-01-02T03:04:05.678Z') },
  });
  await both.db.user.update({ where: { id: userIds[2] }, data: { emailVerifiedAt: new Date() } });
});

afterAll(async () => {
  await both?.db.$disconnect();
  await Promise.all([sqlApp?.close(), prismaApp?.close()]);
});

describe('users by id', () => {
  it('are the same rows both ways, null for an unknown id', async () => {
    const ids = [...userIds, randomUUID()];
    const viaSql = await createUserLoader(both.db, both.sql).loadMany(ids);
    expect(viaSql).toStrictEqual(await createUserLoader(both.db, null).loadMany(ids));
    expect(viaSql.at(-1)).toBeNull();
    expect(viaSql[1]).toMatchObject({ role: 'INSTRUCTOR', deactivatedAt: new Date('2026-01-02T03:04:05.678Z') });
    expect(viaSql[0]).toMatchObject({ deactivatedAt: null, emailVerifiedAt: null });
  });

  it('answer entity references the same way; a malformed id is no user, and fails nothing else', async () => {
    const query = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id name email role active } } }`;
    for (const r of [
      userIds.map((id) => ({ __typename: 'User', id })),
      [{ __typename: 'User', id: randomUUID() }],
      [
        { __typename: 'User', id: 'not-a-uuid' },
        { __typename: 'User', id: userIds[0] },
      ],
    ]) {
      const [s, p] = [await sqlApp.gql(query, { r }), await prismaApp.gql(query, { r })];
      expect(s.status).toBe(p.status);
      expect(s.body).toStrictEqual(p.body);
    }
    const mixed = await sqlApp.gql(query, {
      r: [
        { __typename: 'User', id: "x' or 1=1 --" },
        { __typename: 'User', id: userIds[0] },
      ],
    });
    expect(mixed.body.errors).toBeUndefined();
    expect(mixed.body.data!._entities).toMatchObject([null, { id: userIds[0], name: 'Test plain' }]);
  });
});
