/** What Course resolvers receive, and who may see what. */
import type { Viewer } from '@coursegraph/service-kit';
import type { Course, PublishedCourse } from '../generated/prisma/client.js';

export type CourseStatus = 'DRAFT' | 'PUBLISHED' | 'ARCHIVED';

/**
 * A course as the graph shows it: the latest published version when there is one, else the draft.
 * `draft` is the editable row when it was loaded (catalog pages carry only the published row).
 */
export interface CourseView {
  id: string;
  instructorId: string;
  published: PublishedCourse | null;
  draft: Course | null;
}

export interface UserRef {
  id: string;
}

export const fromPublished = (row: PublishedCourse): CourseView => ({
  id: row.courseId,
  instructorId: row.instructorId,
  published: row,
  draft: null,
});

export const fromCourse = (row: Course & { published: PublishedCourse | null }): CourseView => {
  const { published, ...draft } = row;
  return { id: row.id, instructorId: row.instructorId, published, draft };
};

export function statusOf(published: PublishedCourse | null): CourseStatus {
  if (!published) return 'DRAFT';
  return published.archivedAt ? 'ARCHIVED' : 'PUBLISHED';
}

/** The course's instructor and admins manage it: they see its draft and may change it. */
export const canManage = (viewer: Viewer | null, instructorId: string): boolean =>
  viewer !== null && (viewer.role === 'ADMIN' || viewer.userId === instructorId);

/** Published and archived courses are visible to everyone; a never-published draft only to its managers. */
export const isVisible = (viewer: Viewer | null, view: CourseView): boolean =>
  view.published !== null || canManage(viewer, view.instructorId);
