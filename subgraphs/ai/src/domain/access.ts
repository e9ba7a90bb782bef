/**
 * Who may do what in ai. Generated material belongs to the course's instructor and admins. The tutor
 * of a lesson follows the course context's rule for lesson bodies (docs/adr/0008): the course's
 * instructor and admins; any signed-in learner for a free course or a free-preview lesson; learners
 * whose enrolment grants the material (active, and not an AUDIT of a paid course). The tutor reads
 * from the lessons the asker may read, and from no other.
 */
import { badInput, forbidden, isUuid, notFound, type Viewer } from '@coursegraph/service-kit';
import type { Course, CourseLesson } from '../generated/prisma/client.js';
import type { PrismaClient, Tx } from '../data/db.js';

type Reader = Tx | PrismaClient;

export function requireId(value: string, field: string): string {
  if (!isUuid(value)) throw badInput(`${field} is not a valid id.`, field);
  return value;
}

/** True for the course's instructor and admins. */
export const canManage = (viewer: Viewer | null, course: Pick<Course, 'instructorId'>): boolean =>
  !!viewer && (viewer.role === 'ADMIN' || viewer.userId === course.instructorId);

export interface PublishedLesson {
  lesson: CourseLesson;
  course: Course;
}

/** A lesson of a published course, or NOT_FOUND (ai has not heard of it, or it is not published). */
export async function publishedLesson(db: Reader, lessonId: string): Promise<PublishedLesson> {
  requireId(lessonId, 'lessonId');
  const lesson = await db.courseLesson.findUnique({ where: { id: lessonId } });
  const course = lesson && (await db.course.findUnique({ where: { id: lesson.courseId } }));
  if (!lesson || !course || course.publishedVersion === 0) throw notFound('No published lesson has this id.');
  return { lesson, course };
}

/** The lesson, when the viewer is its course's instructor or an admin. */
export async function managedLesson(db: Reader, viewer: Viewer, lessonId: string): Promise<PublishedLesson> {
  const found = await publishedLesson(db, lessonId);
  if (!canManage(viewer, found.course))
    throw forbidden("Only the course's instructor or an admin can manage its generated material.");
  return found;
}

/**
 * The lessons of the course whose text the viewer may read: 'all', or the free previews alone
 * (an audit of a paid course, or no enrolment on a paid course). Empty when they may read none.
 */
export async function readableLessons(
  db: Reader,
  viewer: Viewer,
  course: Course,
): Promise<ReadonlySet<string> | 'all'> {
  if (canManage(viewer, course) || course.free) return 'all';
  const enrolment = await db.enrolment.findUnique({
    where: { userId_courseId: { userId: viewer.userId, courseId: course.id } },
  });
  if (enrolment?.active && enrolment.mode !== 'AUDIT') return 'all';
  const previews = await db.courseLesson.findMany({
    where: { courseId: course.id, freePreview: true },
    select: { id: true },
  });
  return new Set(previews.map((l) => l.id));
}

/** The viewer's reach in the lesson's course, or FORBIDDEN when this lesson is out of it. */
export async function requireTutorAccess(
  db: Reader,
  viewer: Viewer,
  found: PublishedLesson,
): Promise<ReadonlySet<string> | 'all'> {
  const readable = await readableLessons(db, viewer, found.course);
  if (readable !== 'all' && !readable.has(found.lesson.id))
    throw forbidden("The tutor of this lesson is for learners with access to the course's material.");
  return readable;
}
