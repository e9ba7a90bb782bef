/**
 * Per-request DataLoaders: every load by key is batched, so a list of N courses costs a constant
 * number of queries (docs/architecture.md, Conventions).
 */
import DataLoader from 'dataloader';
import type { SqlReads } from '@coursegraph/service-kit';
import type { CourseTree, DraftTree, LessonNode, ModuleNode } from '../domain/content.js';
import { fromCourse, type CourseView } from '../domain/views.js';
import { countByCategory } from './catalog.js';
import type { PrismaClient } from './db.js';
import { loadDraftTrees } from './drafts.js';
import { entitledCourses } from './entitlements.js';
import { coursesById } from './hot-reads.js';
import { findPublishedItems, loadPublishedTrees } from './published.js';

/** A DataLoader's load and clear, for one kind of tree. */
export interface TreeLoader<T> {
  load(courseId: string): Promise<T | null>;
  clear(courseId: string): void;
}

export interface Loaders {
  /** The course with its draft row and its published row (null when never published). */
  course: DataLoader<string, CourseView | null>;
  /** The latest published version's content. */
  publishedTree: TreeLoader<CourseTree>;
  /** The draft's content. */
  draftTree: TreeLoader<DraftTree>;
  publishedModule: DataLoader<string, ModuleNode | null>;
  publishedLesson: DataLoader<string, LessonNode | null>;
  /** Listed courses per category slug; one key ('all'), so the counts are read once per request. */
  categoryCounts: DataLoader<'all', Map<string, number>>;
  /** Whether the signed-in viewer holds an entitlement to a course's paid content (false when anonymous). */
  entitled: DataLoader<string, boolean>;
}

const byKey = <V>(keys: readonly string[], map: Map<string, V>) => keys.map((k) => map.get(k) ?? null);

/**
 * Published and draft trees share one loader, so every tree asked for in one tick arrives at once
 * and whatever is loaded next (prerequisites, lesson courses) is batched together again: the query
 * count of a page does not depend on which of two queries happened to answer first.
 */
function treeLoaders(
  db: PrismaClient,
  sql: SqlReads | null,
): { publishedTree: TreeLoader<CourseTree>; draftTree: TreeLoader<DraftTree> } {
  const trees = new DataLoader<string, CourseTree | DraftTree | null>(async (keys) => {
    const ids = (prefix: string) => keys.filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
    const [published, drafts] = [ids('p:'), ids('d:')];
    const [p, d] = await Promise.all([
      published.length > 0 ? loadPublishedTrees(db, sql, published) : new Map<string, CourseTree>(),
      drafts.length > 0 ? loadDraftTrees(db, drafts) : new Map<string, DraftTree>(),
    ]);
    return keys.map((k) => (k.startsWith('p:') ? p.get(k.slice(2)) : d.get(k.slice(2))) ?? null);
  });
  const kind = <T>(prefix: string): TreeLoader<T> => ({
    load: (courseId) => trees.load(prefix + courseId) as Promise<T | null>,
    clear: (courseId) => void trees.clear(prefix + courseId),
  });
  return { publishedTree: kind<CourseTree>('p:'), draftTree: kind<DraftTree>('d:') };
}

/** `sql`: the hot reads' plain SQL (hot-reads.ts), or null to read them through Prisma (DB_HOT_READS=prisma). */
export function createLoaders(db: PrismaClient, sql: SqlReads | null, viewerId: string | null): Loaders {
  const { publishedTree, draftTree } = treeLoaders(db, sql);

  // Module and lesson references: which course holds the id, then that course's published tree.
  const publishedItem = <T>(pick: (tree: CourseTree, id: string) => T | undefined) =>
    new DataLoader<string, T | null>(async (ids) => {
      const items = await findPublishedItems(db, ids);
      const courseOf = new Map(items.map((i) => [i.itemId, i.courseId]));
      return Promise.all(
        ids.map(async (id) => {
          const courseId = courseOf.get(id);
          const tree = courseId ? await publishedTree.load(courseId) : null;
          return (tree && pick(tree, id)) ?? null;
        }),
      );
    });

  return {
    course: new DataLoader(async (ids) => {
      const rows = sql
        ? await coursesById(sql, ids)
        : await db.course.findMany({ where: { id: { in: [...ids] } }, include: { published: true } });
      return byKey(ids, new Map(rows.map((r) => [r.id, fromCourse(r)])));
    }),
    publishedTree,
    draftTree,
    publishedModule: publishedItem((tree, id) => tree.modules.find((m) => m.id === id)),
    publishedLesson: publishedItem((tree, id) => tree.modules.flatMap((m) => m.lessons).find((l) => l.id === id)),
    categoryCounts: new DataLoader(async (keys) => {
      const counts = await countByCategory(db, sql);
      return keys.map(() => counts);
    }),
    entitled: new DataLoader(async (courseIds) => {
      if (viewerId === null) return courseIds.map(() => false);
      const entitled = await entitledCourses(db, viewerId, courseIds);
      return courseIds.map((id) => entitled.has(id));
    }),
  };
}
