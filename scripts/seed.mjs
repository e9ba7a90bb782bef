#!/usr/bin/env node
// Demo data, in two phases (both idempotent; run after `npm run build` and migrations):
//   catalog   before the services start: identity's people, course's catalog (published through the
//             domain, so course events wait in the outbox), payment's coupons.
//   activity  once the services run (their consumers build projections from the course events):
//             payment's orders through the sandbox checkout (the saga turns them into enrollments),
//             enrollment's free enrolments and lesson progress.
// This is tooling, not a context: it reads the demo people's ids through identity's own role and
// hands them to the other seeds, which never read another context's tables.
//   node scripts/seed.mjs [catalog|activity|all]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, contextDatabaseUrl } from './lib/env.mjs';
import { refuseInProduction } from './lib/refuse-in-production.mjs';

function runSeed(context, script, extraEnv = {}) {
  const file = path.join(ROOT, 'subgraphs', context, 'dist', script);
  if (!fs.existsSync(file)) throw new Error(`${path.relative(ROOT, file)} missing: run npm run build`);
  execFileSync(process.execPath, [file], {
    stdio: 'inherit',
    env: { ...process.env, [`${context.toUpperCase()}_DATABASE_URL`]: contextDatabaseUrl(context), ...extraEnv },
  });
}

async function query(context, sql) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: contextDatabaseUrl(context) });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

const demoIds = async (prefix) =>
  (await query('identity', `select id from users where email like '${prefix}%@coursegraph.dev' order by email`)).map(
    (r) => r.id,
  );

export async function seedCatalog() {
  refuseInProduction('the demo seed');
  runSeed('identity', 'seed.js');
  runSeed('course', 'seed.js', { SEED_INSTRUCTOR_IDS: (await demoIds('instructor')).join(',') });
  runSeed('payment', 'seed.js');
}

export async function seedActivity() {
  refuseInProduction('the demo seed');
  const learners = (await demoIds('learner')).join(',');
  const [{ n }] = await query('course', 'select count(*)::int as n from published_courses where archived_at is null');
  const env = { SEED_LEARNER_IDS: learners, SEED_EXPECTED_COURSES: String(n) };
  runSeed('payment', 'seed-orders.js', env);
  runSeed('enrollment', 'seed-enrollments.js', env);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  refuseInProduction('the demo seed');
  const phase = process.argv[2] ?? 'all';
  if (phase === 'catalog' || phase === 'all') await seedCatalog();
  if (phase === 'activity' || phase === 'all') await seedActivity();
}
