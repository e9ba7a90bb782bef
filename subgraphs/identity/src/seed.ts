/**
 * Demo accounts for `npm start`: one admin, instructors and learners, generated from a fixed seed so
 * every machine gets the same people. Idempotent: accounts that exist (by email) are left alone.
 * All demo accounts share one password (printed by `npm start`), hashed once.
 *
 *   node subgraphs/identity/dist/seed.js   (SEED_INSTRUCTORS, SEED_LEARNERS: how many)
 */
import { fromBinary } from '@bufbuild/protobuf';
import { IdentityEvents } from '@coursegraph/contracts';
import { newId, seededRandom, refuseInProduction } from '@coursegraph/service-kit';
import { createDb, type PrismaClient } from './data/db.js';
import { emailVerified, userRegistered } from './domain/events.js';
import { emailKey } from './domain/email.js';
import { hashPassword } from './domain/password-hash.js';
import type { Role } from './generated/prisma/client.js';

export const DEMO_PASSWORD = 'coursegraph-demo';
export const DEMO_ADMIN_EMAIL = 'admin@coursegraph.dev';

const FIRST = [
  'Ada',
  'Alan',
  'Grace',
  'Linus',
  'Barbara',
  'Edsger',
  'Margaret',
  'Donald',
  'Radia',
  'Ken',
  'Frances',
  'Niklaus',
  'Sophie',
  'Tim',
  'Hedy',
  'John',
  'Katherine',
  'Dennis',
  'Anita',
  'Guido',
  'Mariya',
  'Yukihiro',
  'Olga',
  'Bjarne',
];
const LAST = [
  'Lovelace',
  'Turing',
  'Hopper',
  'Torvalds',
  'Liskov',
  'Dijkstra',
  'Hamilton',
  'Knuth',
  'Perlman',
  'Thompson',
  'Allen',
  'Wirth',
  'Wilson',
  'Berners-Lee',
  'Lamarr',
  'McCarthy',
  'Johnson',
  'Ritchie',
  'Borg',
  'van Rossum',
  'Ivanova',
  'Matsumoto',
];

export interface DemoUser {
  email: string;
  name: string;
  role: Role;
}

export function demoUsers(instructors: number, learners: number, seed = 42): DemoUser[] {
  const random = seededRandom(seed);
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)]!;
  const users: DemoUser[] = [{ email: DEMO_ADMIN_EMAIL, name: 'Demo Admin', role: 'ADMIN' }];
  for (let i = 1; i <= instructors; i++) {
    users.push({
      email: `instructor${String(i).padStart(2, '0')}@coursegraph.dev`,
      name: `${pick(FIRST)} ${pick(LAST)}`,
      role: 'INSTRUCTOR',
    });
  }
  for (let i = 1; i <= learners; i++) {
    users.push({
      email: `learner${String(i).padStart(4, '0')}@coursegraph.dev`,
      name: `${pick(FIRST)} ${pick(LAST)}`,
      role: 'LEARNER',
    });
  }
  return users;
}

export async function seedIdentity(
  databaseUrl: string,
  instructors: number,
  learners: number,
  log = console.log,
): Promise<number> {
  const db = createDb(databaseUrl);
  try {
    const passwordHash = await hashPassword(DEMO_PASSWORD);
    const users = demoUsers(instructors, learners);
    let created = 0;
    const batch = 500;
    for (let i = 0; i < users.length; i += batch) {
      // Demo addresses are created verified (the registration event says so): they get mail at once.
      const verifiedAt = new Date();
      const rows = users.slice(i, i + batch).map((u) => ({
        id: newId(),
        email: u.email,
        emailKey: emailKey(u.email),
        name: u.name,
        role: u.role,
        passwordHash,
        emailVerifiedAt: verifiedAt,
      }));
      // New accounts are announced like a sign-up's, in the same transaction.
      created += await db.$transaction(async (tx) => {
        const { count } = await tx.user.createMany({ data: rows, skipDuplicates: true });
        const inserted = await tx.user.findMany({ where: { id: { in: rows.map((r) => r.id) } } });
        for (const user of inserted) await userRegistered(tx, user);
        return count;
      });
      log(`seed identity: ${Math.min(i + batch, users.length)}/${users.length} users (${created} new)`);
    }
    const verified = await verifyDemoAddresses(db, users);
    if (verified > 0) log(`seed identity: verified ${verified} demo addresses created before email verification`);
    const backfilled = await announceUnannouncedUsers(db);
    if (backfilled > 0) log(`seed identity: announced ${backfilled} accounts created before identity published events`);
    return created;
  } finally {
    await db.$disconnect();
  }
}

/**
 * Writes identity.user.registered for every account that has none in the outbox: accounts created
 * before identity published events (an existing demo database), so other contexts' projections
 * still learn them. Idempotent: a second run finds every account announced.
 */
export async function announceUnannouncedUsers(db: PrismaClient): Promise<number> {
  const announced = new Set(
    (
      await db.outboxEvent.findMany({
        where: { subject: IdentityEvents.userRegistered.subject },
        select: { payload: true },
      })
    ).map((row) => fromBinary(IdentityEvents.userRegistered.schema, row.payload).userId),
  );
  const missing = (await db.user.findMany({ orderBy: { id: 'asc' } })).filter((u) => !announced.has(u.id));
  for (let i = 0; i < missing.length; i += 500) {
    await db.$transaction(async (tx) => {
      for (const user of missing.slice(i, i + 500)) await userRegistered(tx, user);
    });
  }
  return missing.length;
}

/**
 * Marks demo accounts made before email verification existed as verified, announcing each
 * (identity.email.verified), so a database seeded earlier keeps getting its demo mail. Idempotent.
 */
export async function verifyDemoAddresses(db: PrismaClient, users: DemoUser[]): Promise<number> {
  const keys = users.map((u) => emailKey(u.email));
  let verified = 0;
  for (let i = 0; i < keys.length; i += 500) {
    verified += await db.$transaction(
      async (tx) => {
        const pending = await tx.user.findMany({
          where: { emailKey: { in: keys.slice(i, i + 500) }, emailVerifiedAt: null },
        });
        const now = new Date();
        for (const user of pending) {
          await tx.user.update({ where: { id: user.id }, data: { emailVerifiedAt: now } });
          await emailVerified(tx, user, now);
        }
        return pending.length;
      },
      { timeout: 60_000 },
    );
  }
  return verified;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  refuseInProduction('the identity demo seed');
  const url = process.env.IDENTITY_DATABASE_URL ?? 'postgres://cg_identity:cg_identity_dev@127.0.0.1:5432/coursegraph';
  await seedIdentity(url, Number(process.env.SEED_INSTRUCTORS ?? 20), Number(process.env.SEED_LEARNERS ?? 2000));
}
