/**
 * Who may do what in learning. Authoring (items, quizzes, notes, concepts) and instructor views
 * belong to the course's instructor and admins; studying (attempts, cards) to learners whose
 * enrolment grants the course's material, or its free-preview lessons to any enrolled learner.
 */
import {
  forbidden,
  isUuid,
  notFound,
  badInput,
  requireViewer,
  type AuthContext,
  type Viewer,
} from '@coursegraph/service-kit';
import type { Course } from '../generated/prisma/client.js';
import type { Tx, PrismaClient } from '../data/db.js';

type Reader = Tx | PrismaClient;

export function requireId(value: string, field: string): string {
  if (!isUuid(value)) throw badInput(`${field} is not a valid id.`, field);
  return value;
}

/** True for the course's instructor and admins. */
export const canManage = (viewer: Viewer | null, course: Pick<Course, 'instructorId'>): boolean =>
  !!viewer && (viewer.role === 'ADMIN' || viewer.userId === course.instructorId);

/** The course, when the viewer is its instructor or an admin. */
export async function managedCourse(db: Reader, ctx: AuthContext, courseId: string): Promise<Course> {
  const viewer = requireViewer(ctx);
  requireId(courseId, 'courseId');
  const course = await db.course.findUnique({ where: { id: courseId } });
  // Unknown and not-yours look alike to a non-admin, so ids of others' drafts cannot be probed.
  if (!course) throw notFound('No such course (or learning has not heard of it yet).');
  if (!canManage(viewer, course)) throw forbidden("Only the course's instructor or an admin can do this.");
  return course;
}

/**
 * May the viewer study this lesson's material (take its quiz)? Instructors and admins may; learners
 * with an enrolment granting the course's material may; any enrolled learner may take a free-preview
 * lesson's quiz.
 */
export async function mayStudyLesson(
  db: Reader,
  viewer: Viewer,
  lesson: { courseId: string; freePreview: boolean },
): Promise<boolean> {
  const course = await db.course.findUnique({ where: { id: lesson.courseId } });
  if (!course) return false;
  if (canManage(viewer, course)) return true;
  const enrolment = await db.enrolment.findUnique({
    where: { userId_courseId: { userId: viewer.userId, courseId: lesson.courseId } },
  });
  if (!enrolment?.active) return false;
  return enrolment.mode !== 'AUDIT' || course.free || lesson.freePreview;
}

/**
 * Refuses (FORBIDDEN) a learner whose enrolment no longer grants a course's material (a refund, an
 * unenrolment): their own cards and attempts stay theirs, but the questions and answers in them are
 * the course's paid content. The course's instructor and admins always pass.
 */
export async function requireStudyAccess(
  db: Reader,
  viewer: Viewer,
  courseId: string,
  studyable: ReadonlySet<string>,
  lesson?: { freePreview: boolean } | null,
): Promise<void> {
  if (studyable.has(courseId)) return;
  const course = await db.course.findUnique({ where: { id: courseId } });
  if (course && canManage(viewer, course)) return;
  // A free preview's quiz is open to any enrolled learner, an audit included.
  const enrolment = await db.enrolment.findUnique({ where: { userId_courseId: { userId: viewer.userId, courseId } } });
  if (enrolment?.active && lesson?.freePreview) return;
  throw forbidden("Your enrolment no longer grants this course's material.");
}
