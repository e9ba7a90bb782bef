/**
 * Demo accounts for `npm start`: one admin, instructors and learners, generated from a fixed seed so
 * every machine gets the same people. Idempotent: accounts that exist (by email) are left alone.
 * All demo accounts share one password (printed by `npm start`), hashed once.
 *
 *   node subgraphs/identity/dist/seed.js   (SEED_INSTRUCTORS, SEED_LEARNERS: how many)
 */
import { newId, seededRandom } from '@coursegraph/service-kit';
import { createDb } from './data/db.js';
import { emailKey } from './domain/email.js';
import { hashPassword } from './domain/password-hash.js';
import type { Role } from './generated/prisma/client.js';

export const DEMO_PASSWORD = 'coursegraph-demo';
export const DEMO_ADMIN_EMAIL = 'admin@coursegraph.dev';

const FIRST = ['Ada', 'Alan', 'Grace', 'Linus', 'Barbara', 'Edsger', 'Margaret', 'Donald', 'Radia', 'Ken', 'Frances', 'Niklaus',
  'Sophie', 'Tim', 'Hedy', 'John', 'Katherine', 'Dennis', 'Anita', 'Guido', 'Mariya', 'Yukihiro', 'Olga', 'Bjarne'];
const LAST = ['Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Liskov', 'Dijkstra', 'Hamilton', 'Knuth', 'Perlman', 'Thompson',
  'Allen', 'Wirth', 'Wilson', 'Berners-Lee', 'Lamarr', 'McCarthy', 'Johnson', 'Ritchie', 'Borg', 'van Rossum', 'Ivanova', 'Matsumoto'];

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
    users.push({ email: `instructor${String(i).padStart(2, '0')}@coursegraph.dev`, name: `${pick(FIRST)} ${pick(LAST)}`, role: 'INSTRUCTOR' });
  }
  for (let i = 1; i <= learners; i++) {
    users.push({ email: `learner${String(i).padStart(4, '0')}@coursegraph.dev`, name: `${pick(FIRST)} ${pick(LAST)}`, role: 'LEARNER' });
  }
  return users;
}

export async function seedIdentity(databaseUrl: string, instructors: number, learners: number, log = console.log): Promise<number> {
  const db = createDb(databaseUrl);
  try {
    const passwordHash = await hashPassword(DEMO_PASSWORD);
    const users = demoUsers(instructors, learners);
    let created = 0;
    const batch = 500;
    for (let i = 0; i < users.length; i += batch) {
      const rows = users.slice(i, i + batch).map((u) => ({ id: newId(), email: u.email, emailKey: emailKey(u.email), name: u.name, role: u.role, passwordHash }));
      created += (await db.user.createMany({ data: rows, skipDuplicates: true })).count;
      log(`seed identity: ${Math.min(i + batch, users.length)}/${users.length} users (${created} new)`);
    }
    return created;
  } finally {
    await db.$disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const url = process.env.IDENTITY_DATABASE_URL ?? 'postgres://cg_identity:cg_identity_dev@127.0.0.1:5432/coursegraph';
  await seedIdentity(url, Number(process.env.SEED_INSTRUCTORS ?? 20), Number(process.env.SEED_LEARNERS ?? 2000));
}
