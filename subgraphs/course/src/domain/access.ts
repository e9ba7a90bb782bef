/**
 * Who may change what: instructors and admins author; only a course's instructor or an admin may
 * change a given course. The checks load the row they protect, so callers get it back.
 */
import { forbidden, notFound, type Viewer } from '@coursegraph/service-kit';
import type { Course, Lesson, Module } from '../generated/prisma/client.js';
import type { Reader } from '../data/db.js';
import * as valid from './validation.js';
import { canManage } from './views.js';

function assertManager(viewer: Viewer, course: Course): void {
  if (!canManage(viewer, course.instructorId))
    throw forbidden("Only the course's instructor or an admin may change this course.");
}

export async function managedCourse(db: Reader, viewer: Viewer, courseId: string, field = 'courseId'): Promise<Course> {
  const course = await db.course.findUnique({ where: { id: valid.id(courseId, field) } });
  if (!course) throw notFound(`No course with id ${courseId}.`);
  assertManager(viewer, course);
  return course;
}

export async function managedModule(
  db: Reader,
  viewer: Viewer,
  moduleId: string,
  field = 'moduleId',
): Promise<{ module: Module; course: Course }> {
  const module = await db.module.findUnique({ where: { id: valid.id(moduleId, field) }, include: { course: true } });
  if (!module) throw notFound(`No module with id ${moduleId} in any course draft.`);
  const { course, ...row } = module;
  assertManager(viewer, course);
  return { module: row, course };
}

export async function managedLesson(
  db: Reader,
  viewer: Viewer,
  lessonId: string,
  field = 'lessonId',
): Promise<{ lesson: Lesson; course: Course }> {
  const lesson = await db.lesson.findUnique({ where: { id: valid.id(lessonId, field) }, include: { course: true } });
  if (!lesson) throw notFound(`No lesson with id ${lessonId} in any course draft.`);
  const { course, ...row } = lesson;
  assertManager(viewer, course);
  return { lesson: row, course };
}
