/**
 * Demo catalog for `npm start`: SEED_COURSES courses (default 200) by the demo instructors, written
 * as drafts in batches and then published through the domain's publish, so the outbox carries their
 * events like any publication. Idempotent: courses whose slug exists are not written again, and any
 * seeded draft not yet published (an interrupted run) is published.
 *
 *   node subgraphs/course/dist/seed.js
 *   SEED_INSTRUCTOR_IDS  comma-separated identity user ids (the seed orchestrator passes the demo
 *                        instructors'); without it, stable stand-in ids
 *   SEED_COURSES         how many courses (default 200)
 */
import { isUuid, newId, refuseInProduction, type Viewer } from '@coursegraph/service-kit';
import { createDb, type PrismaClient } from './data/db.js';
import type { Prisma } from './generated/prisma/client.js';
import { Publishing } from './domain/publishing.js';
import { demoCourses, fallbackInstructorIds, type SeedCourse } from './seed-data.js';

export interface SeedOptions {
  courses: number;
  instructorIds: string[];
  log?: (line: string) => void;
  /** Publications running at once. Default 8. */
  concurrency?: number;
}

export interface SeedResult {
  created: number;
  published: number;
}

export async function seedCourses(databaseUrl: string, options: SeedOptions): Promise<SeedResult> {
  const log = options.log ?? console.log;
  if (options.instructorIds.length === 0 || !options.instructorIds.every(isUuid))
    throw new Error('seed course: instructor ids must be UUIDs');
  const db = createDb(databaseUrl, (options.concurrency ?? 8) + 2);
  try {
    const plan = demoCourses(options.courses);
    const existing = await db.course.findMany({
      where: { slug: { in: plan.map((c) => c.slug) } },
      select: { id: true, slug: true },
    });
    const ids = new Map(existing.map((c) => [c.slug, c.id]));
    const missing = plan.filter((c) => !ids.has(c.slug));
    for (const c of missing) ids.set(c.slug, newId());
    await writeDrafts(db, plan, missing, ids, options.instructorIds, log);

    const unpublished = new Set(
      (
        await db.course.findMany({
          where: { id: { in: plan.map((c) => ids.get(c.slug)!) }, published: { is: null } },
          select: { id: true },
        })
      ).map((c) => c.id),
    );
    const published = await publishInOrder(db, plan, ids, unpublished, options, log);
    log(`seed course: ${plan.length} courses (${missing.length} new, ${published} published now)`);
    return { created: missing.length, published };
  } finally {
    await db.$disconnect();
  }
}

const instructorOf = (c: SeedCourse, instructorIds: string[]) => instructorIds[c.index % instructorIds.length]!;

/** Drafts of all missing courses: a handful of multi-row inserts per batch of 50 courses. */
async function writeDrafts(
  db: PrismaClient,
  plan: SeedCourse[],
  courses: SeedCourse[],
  ids: Map<string, string>,
  instructorIds: string[],
  log: (l: string) => void,
) {
  const batch = 50;
  const idOf = (index: number) => ids.get(plan[index]!.slug)!;
  for (let i = 0; i < courses.length; i += batch) {
    const slice = courses.slice(i, i + batch);
    const modules: Prisma.ModuleCreateManyInput[] = [];
    const lessons: Prisma.LessonCreateManyInput[] = [];
    for (const c of slice) {
      const courseId = ids.get(c.slug)!;
      c.modules.forEach((m, position) => {
        const moduleId = newId();
        modules.push({ id: moduleId, courseId, position, title: m.title, summary: m.summary });
        m.lessons.forEach(({ durationSeconds, ...l }, lp) =>
          lessons.push({
            id: newId(),
            courseId,
            moduleId,
            position: lp,
            ...l,
            estimatedDurationSeconds: durationSeconds,
          }),
        );
      });
    }
    await db.$transaction([
      db.courseSlug.createMany({ data: slice.map((c) => ({ slug: c.slug, courseId: ids.get(c.slug)! })) }),
      db.course.createMany({
        data: slice.map((c) => ({
          id: ids.get(c.slug)!,
          instructorId: instructorOf(c, instructorIds),
          slug: c.slug,
          title: c.title,
          summary: c.summary,
          description: c.description,
          category: c.category,
          tags: c.tags,
          level: c.level,
          language: c.language,
          priceMinor: c.priceMinor,
          currency: c.currency,
        })),
      }),
      db.module.createMany({ data: modules }),
      db.lesson.createMany({ data: lessons }),
      // Prerequisites are earlier courses: already stored, or inserted just above.
      db.coursePrerequisite.createMany({
        data: slice.flatMap((c) => c.prerequisites.map((p) => ({ courseId: idOf(c.index), prerequisiteId: idOf(p) }))),
      }),
    ]);
    log(`seed course: drafts ${Math.min(i + batch, courses.length)}/${courses.length}`);
  }
}

/**
 * Publishes the unpublished courses, prerequisites before the courses that need them (publishing
 * checks that), several at a time within each level.
 */
async function publishInOrder(
  db: PrismaClient,
  plan: SeedCourse[],
  ids: Map<string, string>,
  unpublished: Set<string>,
  options: SeedOptions,
  log: (l: string) => void,
) {
  const publishing = new Publishing(db);
  const depth = new Map<number, number>();
  for (const c of plan)
    depth.set(
      c.index,
      c.prerequisites.length === 0 ? 0 : 1 + Math.max(...c.prerequisites.map((p) => depth.get(p) ?? 0)),
    );
  const todo = plan.filter((c) => unpublished.has(ids.get(c.slug)!));
  const levels = [...new Set(todo.map((c) => depth.get(c.index)!))].sort((x, y) => x - y);
  let done = 0;
  for (const level of levels) {
    const queue = todo.filter((c) => depth.get(c.index) === level);
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        const viewer: Viewer = {
          userId: instructorOf(c, options.instructorIds),
          role: 'INSTRUCTOR',
          sessionId: 'seed',
          issuedAtMs: Date.now(),
        };
        await publishing.publish(viewer, ids.get(c.slug)!);
        if (++done % 50 === 0 || done === todo.length) log(`seed course: published ${done}/${todo.length}`);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  }
  return done;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  refuseInProduction('the course demo seed');
  const url = process.env.COURSE_DATABASE_URL ?? 'postgres://cg_course:cg_course_dev@127.0.0.1:5432/coursegraph';
  const given = (process.env.SEED_INSTRUCTOR_IDS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const started = Date.now();
  await seedCourses(url, {
    courses: Number(process.env.SEED_COURSES ?? 200),
    instructorIds: given.length > 0 ? given : fallbackInstructorIds(),
  });
  console.log(`seed course: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
