/**
 * A course's content in one shape for both the draft (assembled from the editable tables) and a
 * published version (the snapshot stored as JSON). Resolvers get it as a tree whose modules and
 * lessons point back to their parents.
 */
import type { CourseLevel, LessonKind } from '../generated/prisma/client.js';
import type { Price } from './validation.js';

export interface LessonContent {
  id: string;
  title: string;
  kind: LessonKind;
  /** Within its module, from 0. */
  position: number;
  required: boolean;
  durationSeconds: number;
  body: string;
  /** An instructor opened this lesson of a paid course to everyone. */
  freePreview: boolean;
}

export interface ModuleContent {
  id: string;
  title: string;
  summary: string;
  /** Within the course, from 0. */
  position: number;
  lessons: LessonContent[];
}

export interface CourseContent {
  courseId: string;
  instructorId: string;
  slug: string;
  title: string;
  summary: string;
  description: string;
  category: string;
  tags: string[];
  level: CourseLevel;
  language: string;
  price: Price;
  prerequisiteIds: string[];
  modules: ModuleContent[];
}

/**
 * The content with its keys in one fixed order: JSON read back from jsonb has its keys reordered,
 * and publishing compares versions by their canonical JSON.
 */
export function canonical(c: CourseContent): CourseContent {
  return {
    courseId: c.courseId,
    instructorId: c.instructorId,
    slug: c.slug,
    title: c.title,
    summary: c.summary,
    description: c.description,
    category: c.category,
    tags: [...c.tags],
    level: c.level,
    language: c.language,
    price: { amountMinor: c.price.amountMinor, currency: c.price.currency },
    prerequisiteIds: [...c.prerequisiteIds].sort(),
    modules: [...c.modules]
      .sort((a, b) => a.position - b.position)
      .map((m) => ({
        id: m.id,
        title: m.title,
        summary: m.summary,
        position: m.position,
        lessons: [...m.lessons]
          .sort((a, b) => a.position - b.position)
          .map((l) => ({
            id: l.id,
            title: l.title,
            kind: l.kind,
            position: l.position,
            required: l.required,
            durationSeconds: l.durationSeconds,
            body: l.body,
            // Versions published before previews existed have no such key.
            freePreview: l.freePreview ?? false,
          })),
      })),
  };
}

export const sameContent = (a: CourseContent, b: CourseContent) =>
  JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

export interface LessonNode extends LessonContent {
  courseId: string;
  module: ModuleNode;
}

export interface ModuleNode extends Omit<ModuleContent, 'lessons'> {
  courseId: string;
  lessons: LessonNode[];
}

/** Content as resolvers see it: modules and lessons in order, each knowing its parents. */
export interface CourseTree {
  content: CourseContent;
  modules: ModuleNode[];
  lessonCount: number;
}

export function toTree(content: CourseContent): CourseTree {
  const c = canonical(content);
  let lessonCount = 0;
  const modules = c.modules.map((m) => {
    const node: ModuleNode = {
      id: m.id,
      title: m.title,
      summary: m.summary,
      position: m.position,
      courseId: c.courseId,
      lessons: [],
    };
    node.lessons = m.lessons.map((l) => ({ ...l, courseId: c.courseId, module: node }));
    lessonCount += node.lessons.length;
    return node;
  });
  return { content: c, modules, lessonCount };
}

/** The draft's tree plus when it was last edited (CourseDraft in the SDL). */
export interface DraftTree extends CourseTree {
  updatedAt: Date;
}
