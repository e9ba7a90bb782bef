#!/usr/bin/env node
// Demo data, in two phases (both idempotent; run after `npm run build` and migrations):
//   catalog   before the services start: identity's people, course's catalog (published through the
//             domain, so course events wait in the outbox), learning's material for the first demo
//             courses (drafts, frozen by those waiting publications once learning applies them),
//             payment's coupons.
//   activity  once the services run (their consumers build projections from the course events):
//             payment's orders through the sandbox checkout (the saga turns them into enrollments),
//             enrollment's free enrolments and lesson progress.
// This is tooling, not a context: it reads the demo people's ids through identity's own role, and the
// demo courses' published lessons through course's, and hands them to the other seeds, which never
// read another context's tables.
//   node scripts/seed.mjs [catalog|activity|all]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
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

async function query(context, sql, params = []) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: contextDatabaseUrl(context) });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

const demoIds = async (prefix) =>
  (await query('identity', `select id from users where email like '${prefix}%@coursegraph.dev' order by email`)).map(
    (r) => r.id,
  );

/**
 * The first SEED_LEARNING_COURSES demo courses (by their place in the demo catalog, the number ending
 * their slug) with the lessons of their published version, numbered across the course as course's
 * events number them.
 */
async function demoCoursesWithLessons(instructorIds, count) {
  const rows = await query(
    'course',
    `select p.course_id, p.instructor_id, p.title, v.snapshot
       from published_courses p join course_versions v on v.course_id = p.course_id and v.version = p.version
      where p.archived_at is null and p.instructor_id = any($1::uuid[])
      order by substring(p.slug from '-([0-9]+)$')::int nulls last, p.slug
      limit $2`,
    [instructorIds, count],
  );
  return rows.map((r) => {
    let position = 0;
    const modules = [...r.snapshot.modules].sort((a, b) => a.position - b.position);
    const lessons = modules.flatMap((m) =>
      [...m.lessons]
        .sort((a, b) => a.position - b.position)
        .map((l) => ({ lessonId: l.id, kind: l.kind, title: l.title, position: position++, moduleTitle: m.title })),
    );
    return { courseId: r.course_id, instructorId: r.instructor_id, title: r.title, lessons };
  });
}

/** How many demo courses get learning material: checked before any seed runs. */
function learningCourseCount() {
  const raw = process.env.SEED_LEARNING_COURSES ?? '8';
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw)))
    throw new Error(`SEED_LEARNING_COURSES must be a whole number of courses (got "${raw}")`);
  return Number(raw);
}

/** Learning's demo material, handed the demo courses in a file (a few hundred lessons are too many for argv). */
async function seedLearningMaterial(instructorIds, count) {
  if (count === 0 || instructorIds.length === 0) return;
  const courses = await demoCoursesWithLessons(instructorIds, count);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coursegraph-seed-'));
  try {
    const file = path.join(dir, 'learning-courses.json');
    fs.writeFileSync(file, JSON.stringify({ courses }));
    runSeed('learning', 'seed.js', { SEED_LEARNING_COURSES_FILE: file });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function seedCatalog() {
  refuseInProduction('the demo seed');
  const learningCourses = learningCourseCount();
  runSeed('identity', 'seed.js');
  const instructorIds = await demoIds('instructor');
  runSeed('course', 'seed.js', { SEED_INSTRUCTOR_IDS: instructorIds.join(',') });
  // After the course seed: its publications wait in course's outbox, so learning applies them after
  // these drafts exist, and they become the published version.
  await seedLearningMaterial(instructorIds, learningCourses);
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
