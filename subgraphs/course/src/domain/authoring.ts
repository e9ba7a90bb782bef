/**
 * Course-level authoring: creating a course, editing its draft fields and its prerequisites.
 * Every change is to the draft only; learners see it once the course is (re)published.
 */
import {
  badInput,
  conflict,
  newId,
  type EnqueueOptions,
  type Viewer,
  isUniqueViolation,
} from '@coursegraph/service-kit';
import type { CourseLevel, Prisma } from '../generated/prisma/client.js';
import { TX_OPTIONS, type PrismaClient, type Tx } from '../data/db.js';
import { touchCourse } from '../data/drafts.js';
import { findPrerequisiteCycle, lockPrerequisiteGraph } from '../data/prerequisites.js';
import { managedCourse } from './access.js';
import * as valid from './validation.js';
import { LIMITS, type Price } from './validation.js';
import { enqueueCreated } from './events.js';
import { canManage } from './views.js';

export interface CreateCourseInput {
  title: string;
  slug?: string | null;
  summary?: string | null;
  description?: string | null;
  category: string;
  tags?: readonly string[] | null;
  level: CourseLevel;
  language: string;
  price?: Price | null;
}

export interface UpdateCourseInput extends Partial<
  Omit<CreateCourseInput, 'title' | 'category' | 'level' | 'language'>
> {
  courseId: string;
  title?: string | null;
  category?: string | null;
  level?: CourseLevel | null;
  language?: string | null;
}

const FREE: Price = { amountMinor: 0, currency: 'USD' };

const slugTaken = (slug: string) => conflict(`The slug "${slug}" is already used by another course.`, 'slug');

export class Authoring {
  constructor(private readonly db: PrismaClient) {}

  /** Creates a draft owned by the viewer; returns its id. */
  async createCourse(viewer: Viewer, input: CreateCourseInput, options: EnqueueOptions = {}): Promise<string> {
    const title = valid.courseTitle(input.title);
    const explicitSlug = input.slug != null ? valid.slug(input.slug) : null;
    const price = valid.price(input.price ?? FREE);
    const data = {
      title,
      summary: valid.text(input.summary ?? '', 'summary', LIMITS.summary),
      description: valid.text(input.description ?? '', 'description', LIMITS.description),
      category: valid.category(input.category),
      tags: valid.tags(input.tags ?? []),
      level: input.level,
      language: valid.language(input.language),
      priceMinor: price.amountMinor,
      currency: price.currency,
    };
    const id = newId();
    const slug = explicitSlug ?? (await this.freeSlug(valid.slugFromTitle(title), id));
    try {
      await this.db.$transaction(async (tx) => {
        await tx.courseSlug.create({ data: { slug, courseId: id } });
        const created = await tx.course.create({ data: { id, instructorId: viewer.userId, slug, ...data } });
        await enqueueCreated(tx, { courseId: id, instructorId: viewer.userId, createdAt: created.createdAt }, options);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw slugTaken(slug);
      throw err;
    }
    return id;
  }

  /** A derived slug that is free, or made unique with the random tail of the new id. */
  private async freeSlug(base: string, id: string): Promise<string> {
    const taken = await this.db.courseSlug.findUnique({ where: { slug: base } });
    return taken ? `${base}-${id.slice(-8)}` : base;
  }

  async updateCourse(viewer: Viewer, input: UpdateCourseInput): Promise<string> {
    const course = await managedCourse(this.db, viewer, input.courseId);
    const data: Prisma.CourseUpdateInput = {};
    if (input.title != null) data.title = valid.courseTitle(input.title);
    if (input.summary != null) data.summary = valid.text(input.summary, 'summary', LIMITS.summary);
    if (input.description != null) data.description = valid.text(input.description, 'description', LIMITS.description);
    if (input.category != null) data.category = valid.category(input.category);
    if (input.tags != null) data.tags = valid.tags(input.tags);
    if (input.level != null) data.level = input.level;
    if (input.language != null) data.language = valid.language(input.language);
    if (input.price != null) {
      const price = valid.price(input.price);
      data.priceMinor = price.amountMinor;
      data.currency = price.currency;
    }
    const slug = input.slug != null ? valid.slug(input.slug) : null;
    if (Object.keys(data).length === 0 && slug === null) return course.id;
    try {
      await this.db.$transaction(async (tx) => {
        const current = await touchCourse(tx, course.id);
        if (slug !== null && slug !== current.slug) await this.moveDraftSlug(tx, course.id, current.slug, slug);
        await tx.course.update({ where: { id: course.id }, data: slug !== null ? { ...data, slug } : data });
      }, TX_OPTIONS);
    } catch (err) {
      if (isUniqueViolation(err)) throw slugTaken(slug ?? '');
      throw err;
    }
    return course.id;
  }

  /** Reserves the new slug and releases the old one unless learners still know the course by it. */
  private async moveDraftSlug(tx: Tx, courseId: string, from: string, to: string): Promise<void> {
    const holder = await tx.courseSlug.findUnique({ where: { slug: to } });
    if (holder && holder.courseId !== courseId) throw slugTaken(to);
    if (!holder) await tx.courseSlug.create({ data: { slug: to, courseId } });
    const published = await tx.publishedCourse.findUnique({ where: { courseId }, select: { slug: true } });
    if (published?.slug !== from) await tx.courseSlug.deleteMany({ where: { slug: from, courseId } });
  }

  /**
   * Replaces the draft's prerequisites. They must be courses the viewer can see, not the course
   * itself, and must not close a cycle among draft and published prerequisites together.
   */
  async setPrerequisites(viewer: Viewer, courseId: string, prerequisiteIds: readonly string[]): Promise<string> {
    const course = await managedCourse(this.db, viewer, courseId);
    const field = 'prerequisiteIds';
    if (prerequisiteIds.length > LIMITS.prerequisites)
      throw badInput(`At most ${LIMITS.prerequisites} prerequisites.`, field);
    const ids = [...new Set(prerequisiteIds.map((p) => valid.id(p, field)))];
    if (ids.includes(course.id)) throw badInput('A course cannot be its own prerequisite.', field);
    await this.db.$transaction(async (tx) => {
      // Serialises prerequisite edits, so two concurrent edits cannot each close half of a cycle.
      await lockPrerequisiteGraph(tx);
      await touchCourse(tx, course.id);
      const found = await tx.course.findMany({
        where: { id: { in: ids } },
        include: { published: { select: { courseId: true } } },
      });
      const visible = new Map(
        found.filter((c) => c.published !== null || canManage(viewer, c.instructorId)).map((c) => [c.id, c]),
      );
      const missing = ids.find((id) => !visible.has(id));
      if (missing) throw badInput(`No course with id ${missing}.`, field);
      const cyclic = await findPrerequisiteCycle(tx, course.id, ids);
      if (cyclic) {
        throw badInput(
          `"${visible.get(cyclic)!.title}" already requires this course (directly or through its prerequisites), so it cannot also be its prerequisite.`,
          field,
        );
      }
      await tx.coursePrerequisite.deleteMany({ where: { courseId: course.id } });
      if (ids.length > 0)
        await tx.coursePrerequisite.createMany({
          data: ids.map((prerequisiteId) => ({ courseId: course.id, prerequisiteId })),
        });
    }, TX_OPTIONS);
    return course.id;
  }
}
