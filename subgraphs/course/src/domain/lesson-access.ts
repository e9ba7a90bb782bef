/**
 * Who may read a lesson's body (later also its video and quiz items). The outline of a published
 * course is public; its content is open in a free course and in lessons marked as free previews,
 * and otherwise only to the course's instructor, admins and entitled learners. Every path to a
 * lesson (Course.modules, Module.lessons, `_entities`, subscriptions through the gateway) resolves
 * `Lesson.body` through this one rule. Search applies the same rule to what it indexes.
 */
import type { Viewer } from '@coursegraph/service-kit';
import { canManage, type CourseView } from './views.js';

export interface LessonAccessFacts {
  viewer: Viewer | null;
  /** The lesson's course (its published row decides the price learners see). */
  course: CourseView;
  freePreview: boolean;
  /** Asked only when the answer depends on it: does the viewer hold an entitlement to the course? */
  entitled: () => Promise<boolean>;
}

/** The body is open to everyone: a free course (as published), or a free preview. */
export const isPublicBody = (priceMinor: number, freePreview: boolean): boolean => priceMinor === 0 || freePreview;

export async function mayReadBody(f: LessonAccessFacts): Promise<boolean> {
  if (canManage(f.viewer, f.course.instructorId)) return true;
  // A lesson of a course never published is a draft: its managers' only.
  if (!f.course.published) return false;
  if (isPublicBody(f.course.published.priceMinor, f.freePreview)) return true;
  return f.viewer !== null && f.entitled();
}
