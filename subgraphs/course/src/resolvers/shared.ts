/** Helpers the resolver files share: reading a course's content and making connections. */
import { encodeCursor } from '@coursegraph/service-kit';
import type { Context } from '../context.js';
import { listCatalog, type CatalogQuery, type CatalogSort } from '../data/catalog.js';
import type { CourseTree } from '../domain/content.js';
import { fromCourse, fromPublished, isVisible, type CourseView } from '../domain/views.js';
import type { Course, PublishedCourse } from '../generated/prisma/client.js';

/** The content a course's fields show: its latest published version, else (never published) its draft. */
export async function shownTree(ctx: Context, view: CourseView): Promise<CourseTree> {
  const tree = view.published
    ? await ctx.loaders.publishedTree.load(view.id)
    : await ctx.loaders.draftTree.load(view.id);
  if (!tree) throw new Error(`course ${view.id} has no content`);
  return tree;
}

/** Courses by id that the viewer may see, in the given order (prerequisites). */
export async function visibleCourses(ctx: Context, ids: readonly string[]): Promise<CourseView[]> {
  const views = await ctx.loaders.course.loadMany([...ids]);
  const failed = views.find((v) => v instanceof Error);
  if (failed) throw failed;
  return views.filter((v): v is CourseView => v !== null && !(v instanceof Error) && isVisible(ctx.viewer, v));
}

/** Reads a course afresh after a change made in this request. */
export async function reloadCourse(ctx: Context, courseId: string): Promise<CourseView> {
  ctx.loaders.course.clear(courseId);
  ctx.loaders.draftTree.clear(courseId);
  ctx.loaders.publishedTree.clear(courseId);
  const view = await ctx.loaders.course.load(courseId);
  if (!view) throw new Error(`course ${courseId} vanished`);
  return view;
}

const pageInfo = (hasNextPage: boolean, endCursor: string | null) => ({ hasNextPage, endCursor });

export async function catalogConnection(
  ctx: Context,
  query: CatalogQuery,
  sort: CatalogSort,
  take: number,
  after: string | null | undefined,
) {
  const page = await listCatalog(ctx.db, ctx.sql, query, sort, take, after);
  const edges = page.rows.map((row: PublishedCourse, i) => ({ cursor: page.cursors[i]!, node: fromPublished(row) }));
  return { edges, totalCount: page.totalCount, pageInfo: pageInfo(page.hasNextPage, edges.at(-1)?.cursor ?? null) };
}

export function ownConnection(page: {
  rows: (Course & { published: PublishedCourse | null })[];
  hasNextPage: boolean;
  totalCount: number;
}) {
  const edges = page.rows.map((row) => ({ cursor: encodeCursor(row.id), node: fromCourse(row) }));
  return { edges, totalCount: page.totalCount, pageInfo: pageInfo(page.hasNextPage, edges.at(-1)?.cursor ?? null) };
}
