/**
 * A draft's outline: modules in a course and lessons in a module, each kept at positions 0..n-1.
 * Every change locks the course row first (touchCourse), so concurrent edits of one course queue up
 * and positions never collide.
 */
import { badInput, newId, notFound, type Viewer } from '@coursegraph/service-kit';
import type { LessonKind, Prisma } from '../generated/prisma/client.js';
import { TX_OPTIONS, type PrismaClient, type Tx } from '../data/db.js';
import { touchCourse } from '../data/drafts.js';
import { durationData, writeOldDuration } from '../data/lesson-duration.js';
import { managedCourse, managedLesson, managedModule } from './access.js';
import * as valid from './validation.js';
import { LIMITS } from './validation.js';

export interface AddModuleInput {
  courseId: string;
  title: string;
  summary?: string | null;
  position?: number | null;
}
export interface UpdateModuleInput {
  moduleId: string;
  title?: string | null;
  summary?: string | null;
}
export interface AddLessonInput {
  moduleId: string;
  title: string;
  kind: LessonKind;
  required?: boolean | null;
  durationSeconds?: number | null;
  body?: string | null;
  freePreview?: boolean | null;
  position?: number | null;
}
export interface UpdateLessonInput {
  lessonId: string;
  title?: string | null;
  kind?: LessonKind | null;
  required?: boolean | null;
  durationSeconds?: number | null;
  body?: string | null;
  freePreview?: boolean | null;
}
export interface MoveLessonInput {
  lessonId: string;
  moduleId?: string | null;
  position: number;
}

/** Ids of what changed, for the resolvers to read back. */
export interface Changed {
  courseId: string;
  moduleId?: string;
  lessonId?: string;
}

const bodyOf = (raw: string) => valid.text(raw, 'body', LIMITS.body);

export class Outline {
  constructor(private readonly db: PrismaClient) {}

  private tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.db.$transaction(fn, TX_OPTIONS);
  }

  async addModule(viewer: Viewer, input: AddModuleInput): Promise<Changed> {
    const { id: courseId } = await managedCourse(this.db, viewer, input.courseId);
    const title = valid.itemTitle(input.title);
    const summary = valid.text(input.summary ?? '', 'summary', LIMITS.moduleSummary);
    return this.tx(async (tx) => {
      await touchCourse(tx, courseId);
      const count = await tx.module.count({ where: { courseId } });
      if (count >= LIMITS.modulesPerCourse)
        throw badInput(`A course has at most ${LIMITS.modulesPerCourse} modules.`, 'courseId');
      const position = input.position != null ? valid.position(input.position, count) : count;
      await tx.module.updateMany({
        where: { courseId, position: { gte: position } },
        data: { position: { increment: 1 } },
      });
      const moduleId = newId();
      await tx.module.create({ data: { id: moduleId, courseId, position, title, summary } });
      return { courseId, moduleId };
    });
  }

  async updateModule(viewer: Viewer, input: UpdateModuleInput): Promise<Changed> {
    const { module, course } = await managedModule(this.db, viewer, input.moduleId);
    const data: Prisma.ModuleUpdateInput = {};
    if (input.title != null) data.title = valid.itemTitle(input.title);
    if (input.summary != null) data.summary = valid.text(input.summary, 'summary', LIMITS.moduleSummary);
    if (Object.keys(data).length > 0) {
      await this.tx(async (tx) => {
        await touchCourse(tx, course.id);
        await this.currentModule(tx, module.id);
        await tx.module.update({ where: { id: module.id }, data });
      });
    }
    return { courseId: course.id, moduleId: module.id };
  }

  async moveModule(viewer: Viewer, moduleId: string, position: number): Promise<Changed> {
    const { course } = await managedModule(this.db, viewer, moduleId);
    return this.tx(async (tx) => {
      await touchCourse(tx, course.id);
      const module = await this.currentModule(tx, moduleId);
      const count = await tx.module.count({ where: { courseId: course.id } });
      const to = valid.position(position, count - 1);
      const from = module.position;
      if (to !== from) {
        // Close the gap at `from`, open one at `to`.
        if (to > from)
          await tx.module.updateMany({
            where: { courseId: course.id, position: { gt: from, lte: to } },
            data: { position: { decrement: 1 } },
          });
        else
          await tx.module.updateMany({
            where: { courseId: course.id, position: { gte: to, lt: from } },
            data: { position: { increment: 1 } },
          });
        await tx.module.update({ where: { id: module.id }, data: { position: to } });
      }
      return { courseId: course.id, moduleId: module.id };
    });
  }

  async removeModule(viewer: Viewer, moduleId: string): Promise<Changed> {
    const { course } = await managedModule(this.db, viewer, moduleId);
    return this.tx(async (tx) => {
      await touchCourse(tx, course.id);
      const module = await this.currentModule(tx, moduleId);
      await tx.lesson.deleteMany({ where: { moduleId: module.id } });
      await tx.module.delete({ where: { id: module.id } });
      await tx.module.updateMany({
        where: { courseId: course.id, position: { gt: module.position } },
        data: { position: { decrement: 1 } },
      });
      return { courseId: course.id };
    });
  }

  async addLesson(viewer: Viewer, input: AddLessonInput): Promise<Changed> {
    const { module, course } = await managedModule(this.db, viewer, input.moduleId);
    const data = {
      title: valid.itemTitle(input.title),
      kind: input.kind,
      required: input.required ?? true,
      body: bodyOf(input.body ?? ''),
      freePreview: input.freePreview ?? false,
    };
    const seconds = valid.durationSeconds(input.durationSeconds ?? 0);
    return this.tx(async (tx) => {
      await touchCourse(tx, course.id);
      await this.currentModule(tx, module.id);
      const count = await tx.lesson.count({ where: { moduleId: module.id } });
      if (count >= LIMITS.lessonsPerModule)
        throw badInput(`A module has at most ${LIMITS.lessonsPerModule} lessons.`, 'moduleId');
      const position = input.position != null ? valid.position(input.position, count) : count;
      await tx.lesson.updateMany({
        where: { moduleId: module.id, position: { gte: position } },
        data: { position: { increment: 1 } },
      });
      const lessonId = newId();
      await tx.lesson.create({
        data: { id: lessonId, courseId: course.id, moduleId: module.id, position, ...data, ...durationData(seconds) },
      });
      await writeOldDuration(tx, lessonId, seconds);
      return { courseId: course.id, moduleId: module.id, lessonId };
    });
  }

  async updateLesson(viewer: Viewer, input: UpdateLessonInput): Promise<Changed> {
    const { lesson, course } = await managedLesson(this.db, viewer, input.lessonId);
    const data: Prisma.LessonUpdateInput = {};
    if (input.title != null) data.title = valid.itemTitle(input.title);
    if (input.kind != null) data.kind = input.kind;
    if (input.required != null) data.required = input.required;
    const seconds = input.durationSeconds == null ? null : valid.durationSeconds(input.durationSeconds);
    if (seconds !== null) Object.assign(data, durationData(seconds));
    if (input.body != null) data.body = bodyOf(input.body);
    if (input.freePreview != null) data.freePreview = input.freePreview;
    if (Object.keys(data).length > 0 || seconds !== null) {
      await this.tx(async (tx) => {
        await touchCourse(tx, course.id);
        await this.currentLesson(tx, lesson.id);
        if (Object.keys(data).length > 0) await tx.lesson.update({ where: { id: lesson.id }, data });
        if (seconds !== null) await writeOldDuration(tx, lesson.id, seconds);
      });
    }
    return { courseId: course.id, moduleId: lesson.moduleId, lessonId: lesson.id };
  }

  /** Moves a lesson within its module, or into another module of the same course. */
  async moveLesson(viewer: Viewer, input: MoveLessonInput): Promise<Changed> {
    const { course } = await managedLesson(this.db, viewer, input.lessonId);
    const targetId = input.moduleId != null ? valid.id(input.moduleId, 'moduleId') : null;
    return this.tx(async (tx) => {
      await touchCourse(tx, course.id);
      const lesson = await this.currentLesson(tx, input.lessonId);
      const target = targetId ?? lesson.moduleId;
      if (target !== lesson.moduleId) {
        const module = await tx.module.findUnique({ where: { id: target } });
        if (!module || module.courseId !== course.id)
          throw badInput('The target module is not a module of this course.', 'moduleId');
      }
      const count = await tx.lesson.count({ where: { moduleId: target } });
      const from = lesson.position;
      if (target === lesson.moduleId) {
        const to = valid.position(input.position, count - 1);
        if (to > from)
          await tx.lesson.updateMany({
            where: { moduleId: target, position: { gt: from, lte: to } },
            data: { position: { decrement: 1 } },
          });
        if (to < from)
          await tx.lesson.updateMany({
            where: { moduleId: target, position: { gte: to, lt: from } },
            data: { position: { increment: 1 } },
          });
        await tx.lesson.update({ where: { id: lesson.id }, data: { position: to } });
      } else {
        if (count >= LIMITS.lessonsPerModule)
          throw badInput(`A module has at most ${LIMITS.lessonsPerModule} lessons.`, 'moduleId');
        const to = valid.position(input.position, count);
        await tx.lesson.updateMany({
          where: { moduleId: lesson.moduleId, position: { gt: from } },
          data: { position: { decrement: 1 } },
        });
        await tx.lesson.updateMany({
          where: { moduleId: target, position: { gte: to } },
          data: { position: { increment: 1 } },
        });
        await tx.lesson.update({ where: { id: lesson.id }, data: { moduleId: target, position: to } });
      }
      return { courseId: course.id, moduleId: target, lessonId: lesson.id };
    });
  }

  async removeLesson(viewer: Viewer, lessonId: string): Promise<Changed> {
    const { course } = await managedLesson(this.db, viewer, lessonId);
    return this.tx(async (tx) => {
      await touchCourse(tx, course.id);
      const lesson = await this.currentLesson(tx, lessonId);
      await tx.lesson.delete({ where: { id: lesson.id } });
      await tx.lesson.updateMany({
        where: { moduleId: lesson.moduleId, position: { gt: lesson.position } },
        data: { position: { decrement: 1 } },
      });
      return { courseId: course.id, moduleId: lesson.moduleId };
    });
  }

  /** Re-read under the course lock: a concurrent edit may have moved or removed it. */
  private async currentModule(tx: Tx, moduleId: string) {
    const module = await tx.module.findUnique({ where: { id: moduleId } });
    if (!module) throw notFound(`No module with id ${moduleId} in any course draft.`);
    return module;
  }

  private async currentLesson(tx: Tx, lessonId: string) {
    const lesson = await tx.lesson.findUnique({ where: { id: lessonId } });
    if (!lesson) throw notFound(`No lesson with id ${lessonId} in any course draft.`);
    return lesson;
  }
}
