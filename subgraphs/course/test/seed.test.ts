import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBinary } from '@bufbuild/protobuf';
import { CourseEvents } from '@coursegraph/contracts';
import { isUuid } from '@coursegraph/service-kit';
import { contextDatabaseUrl } from '@coursegraph/test-support';
import { createDb, type PrismaClient } from '../src/data/db.js';
import * as valid from '../src/domain/validation.js';
import { seedCourses } from '../src/seed.js';
import { demoCourses, fallbackInstructorIds } from '../src/seed-data.js';

describe('demo catalog plan', () => {
  const plan = demoCourses(200);

  it('is the same every time, and a smaller plan is a prefix of a larger one', () => {
    expect(demoCourses(200)).toEqual(plan);
    expect(demoCourses(30)).toEqual(plan.slice(0, 30));
  });

  it('looks like a real catalog and passes the authoring rules', () => {
    expect(new Set(plan.map((c) => c.slug)).size).toBe(200);
    expect(new Set(plan.map((c) => c.title)).size).toBe(200);
    const free = plan.filter((c) => c.priceMinor === 0).length;
    expect(free).toBeGreaterThan(40);
    expect(free).toBeLessThan(80);
    expect(new Set(plan.map((c) => c.language))).toEqual(new Set(['en', 'ru', 'es', 'de']));
    expect(new Set(plan.map((c) => c.category)).size).toBeGreaterThanOrEqual(8);
    expect(plan.filter((c) => c.prerequisites.length > 0).length).toBeGreaterThan(10);
    for (const c of plan) {
      expect(c.modules.length).toBeGreaterThanOrEqual(3);
      expect(c.modules.length).toBeLessThanOrEqual(6);
      for (const m of c.modules) expect(m.lessons.length).toBeGreaterThanOrEqual(2);
      for (const m of c.modules) expect(m.lessons.length).toBeLessThanOrEqual(6);
      expect(c.prerequisites.every((p) => p < c.index)).toBe(true);
      expect(valid.slug(c.slug)).toBe(c.slug);
      expect(valid.courseTitle(c.title)).toBe(c.title);
      expect(valid.tags(c.tags)).toEqual(c.tags);
      expect(valid.language(c.language)).toBe(c.language);
      expect(c.priceMinor === 0 || (c.priceMinor >= 1900 && c.priceMinor <= 9900)).toBe(true);
    }
  });

  it('falls back to stable UUIDs for the 20 demo instructors', () => {
    const ids = fallbackInstructorIds();
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
    expect(ids.every(isUuid)).toBe(true);
    expect(fallbackInstructorIds()).toEqual(ids);
  });
});

describe('seedCourses', () => {
  let db: PrismaClient;
  beforeAll(() => {
    db = createDb(contextDatabaseUrl('course'));
  });
  afterAll(async () => {
    await db.$disconnect();
  });

  it('publishes every planned course through the domain (events included), and a second run changes nothing', async () => {
    const count = 15;
    const instructorIds = fallbackInstructorIds(3);
    const lines: string[] = [];
    await seedCourses(contextDatabaseUrl('course'), { courses: count, instructorIds, log: (l) => lines.push(l) });
    expect(lines.at(-1)).toMatch(/^seed course: 15 courses/);

    const slugs = demoCourses(count).map((c) => c.slug);
    const rows = await db.course.findMany({
      where: { slug: { in: slugs } },
      include: { published: true, modules: { include: { lessons: true } } },
    });
    expect(rows).toHaveLength(count);
    expect(rows.every((r) => r.published !== null && r.published.archivedAt === null)).toBe(true);
    expect(rows.every((r) => r.published!.lessonCount === r.modules.reduce((n, m) => n + m.lessons.length, 0))).toBe(
      true,
    );

    const published = await db.outboxEvent.findMany({ where: { subject: CourseEvents.published.subject } });
    const announced = new Set(
      published.map((e) => fromBinary(CourseEvents.published.schema, e.payload).course?.courseId),
    );
    expect(rows.filter((r) => !announced.has(r.id))).toEqual([]);

    const versions = await db.courseVersion.count({ where: { courseId: { in: rows.map((r) => r.id) } } });
    expect(await seedCourses(contextDatabaseUrl('course'), { courses: count, instructorIds, log: () => {} })).toEqual({
      created: 0,
      published: 0,
    });
    expect(await db.courseVersion.count({ where: { courseId: { in: rows.map((r) => r.id) } } })).toBe(versions);
  });
});
