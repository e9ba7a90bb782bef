/**
 * Demo learning activity for `npm start`: learners enrol in free courses (some audit a paid one)
 * and work through lessons, through the real domain, so completions and certificates come with
 * their events. Paid enrollments are not made here: they arrive from payment's demo orders through
 * the saga. Waits until enrollment's course projection has caught up. Idempotent.
 *
 * Quiz lessons whose quiz must be passed (enrollment's quiz_requirements, from learning's
 * learning.quiz.published) are left to their quiz: the domain refuses to mark them done. Learning's
 * events may arrive before or during the seed, so a refusal re-reads the requirements and retries.
 *
 *   SEED_LEARNER_IDS       comma-separated learner ids (the orchestrator reads them from identity)
 *   SEED_EXPECTED_COURSES  published courses to wait for
 */
import { seededRandom, waitForProjection, refuseInProduction, type Viewer } from '@coursegraph/service-kit';
import { createDb, type PrismaClient } from './data/db.js';
import { Enrollments } from './domain/enrollments.js';
import type { Enrollment } from './generated/prisma/client.js';

/** Lessons among `lessonIds` that only a quiz pass completes, as enrollment knows now. */
async function quizGated(db: PrismaClient, lessonIds: string[]): Promise<Set<string>> {
  const rows = await db.quizRequirement.findMany({
    where: { lessonId: { in: lessonIds }, completionRequiresPass: true },
    select: { lessonId: true },
  });
  return new Set(rows.map((r) => r.lessonId));
}

/** The domain's refusal of a lesson (a quiz that must be passed, as things stand when it checks). */
function lessonRefused(err: unknown): boolean {
  const extensions = (err as { extensions?: Record<string, unknown> } | null)?.extensions;
  return extensions?.code === 'BAD_USER_INPUT' && extensions.field === 'lessonId';
}

/**
 * Marks done the lessons that no quiz gates; null when all are gated. A requirement applied between
 * the read and the write makes the domain refuse the batch (changing nothing): read again and retry.
 */
async function completeUngated(
  db: PrismaClient,
  enrollments: Enrollments,
  viewer: Viewer,
  courseId: string,
  lessonIds: string[],
): Promise<{ enrollment: Enrollment | null; gated: number }> {
  for (let attempt = 1; ; attempt++) {
    const gated = await quizGated(db, lessonIds);
    const open = lessonIds.filter((id) => !gated.has(id));
    if (open.length === 0) return { enrollment: null, gated: gated.size };
    try {
      return { enrollment: await enrollments.completeLessons(viewer, courseId, open), gated: gated.size };
    } catch (err) {
      // A refusal that fresh reads do not clear is not a quiz arriving (a lesson not in the course): let it out.
      if (attempt >= 3 || !lessonRefused(err)) throw err;
    }
  }
}

export async function seedEnrollments(
  databaseUrl: string,
  learnerIds: string[],
  expectedCourses: number,
  log = console.log,
) {
  const db = createDb(databaseUrl, 8);
  try {
    await waitForProjection(
      'enrollment',
      () => db.courseProjection.count({ where: { state: 'PUBLISHED' } }),
      expectedCourses,
      log,
    );
    const courses = await db.courseProjection.findMany({
      where: { state: 'PUBLISHED', prerequisiteCourseIds: { isEmpty: true } },
      orderBy: { courseId: 'asc' },
      select: { courseId: true, isFree: true, lessonIds: true },
    });
    const free = courses.filter((c) => c.isFree);
    const paid = courses.filter((c) => !c.isFree);
    const enrollments = new Enrollments(db);
    // Plan first (sequentially, so the seeded choices are the same everywhere), then apply in parallel.
    const random = seededRandom(11);
    const plans = learnerIds.map((userId) => {
      const picks: { course: (typeof courses)[number]; mode: 'FREE' | 'AUDIT'; share: number }[] = [];
      const count = 1 + Math.floor(random() * 3);
      for (let k = 0; k < count && free.length > 0; k++)
        picks.push({ course: free[Math.floor(random() * free.length)]!, mode: 'FREE', share: 0 });
      if (random() < 0.1 && paid.length > 0)
        picks.push({ course: paid[Math.floor(random() * paid.length)]!, mode: 'AUDIT', share: 0 });
      // Some learners finish, most are part of the way through.
      for (const pick of picks) pick.share = random() < 0.2 ? 1 : random() * 0.8;
      return { userId, picks };
    });
    const totals = { enrolled: 0, completed: 0, quizGated: 0 };
    const apply = async ({ userId, picks }: (typeof plans)[number]) => {
      const viewer: Viewer = { userId, role: 'LEARNER', sessionId: 'seed', issuedAtMs: Date.now() };
      const seen = new Set<string>();
      for (const { course, mode, share } of picks) {
        if (seen.has(course.courseId)) continue;
        seen.add(course.courseId);
        const existing = await db.enrollment.findUnique({
          where: { userId_courseId: { userId, courseId: course.courseId } },
        });
        if (existing) continue;
        await enrollments.enrol(viewer, course.courseId, mode);
        totals.enrolled++;
        const lessons = course.lessonIds.slice(0, Math.round(course.lessonIds.length * share));
        if (lessons.length === 0) continue;
        const { enrollment, gated } = await completeUngated(db, enrollments, viewer, course.courseId, lessons);
        totals.quizGated += gated;
        if (enrollment?.status === 'COMPLETED') totals.completed++;
      }
    };
    const parallel = 8;
    for (let i = 0; i < plans.length; i += parallel) {
      await Promise.all(plans.slice(i, i + parallel).map(apply));
      const done = Math.min(i + parallel, plans.length);
      if (done % 400 === 0 || done === plans.length) {
        log(
          `seed enrollments: ${done}/${plans.length} learners (${totals.enrolled} new enrollments, ${totals.completed} completed, ${totals.quizGated} quiz lessons left to their quiz)`,
        );
      }
    }
    return totals;
  } finally {
    await db.$disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  refuseInProduction('the enrollment demo seed');
  const url =
    process.env.ENROLLMENT_DATABASE_URL ?? 'postgres://cg_enrollment:cg_enrollment_dev@127.0.0.1:5432/coursegraph';
  const learners = (process.env.SEED_LEARNER_IDS ?? '').split(',').filter(Boolean);
  await seedEnrollments(url, learners, Number(process.env.SEED_EXPECTED_COURSES ?? 1));
}
