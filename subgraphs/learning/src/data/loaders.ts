/** Per-request DataLoaders: every load by key is batched, so a list costs a constant number of queries. */
import DataLoader from 'dataloader';
import { studyableCourses } from './deck.js';
import type {
  Concept,
  Course,
  LearnerSettings,
  PublishedItem,
  PublishedNote,
  PrismaClient,
} from '../generated/prisma/client.js';

function byKey<K, V>(keys: readonly K[], rows: V[], keyOf: (row: V) => K): (V | null)[] {
  const map = new Map(rows.map((r) => [keyOf(r), r]));
  return keys.map((k) => map.get(k) ?? null);
}

export function createLoaders(db: PrismaClient) {
  return {
    course: new DataLoader<string, Course | null>(async (ids) =>
      byKey(ids, await db.course.findMany({ where: { id: { in: [...ids] } } }), (r) => r.id),
    ),
    concept: new DataLoader<string, Concept | null>(async (ids) =>
      byKey(ids, await db.concept.findMany({ where: { id: { in: [...ids] } } }), (r) => r.id),
    ),
    /** Prerequisite concept ids of each concept. */
    prerequisites: new DataLoader<string, string[]>(async (ids) => {
      const edges = await db.conceptEdge.findMany({ where: { conceptId: { in: [...ids] } } });
      return ids.map((id) => edges.filter((e) => e.conceptId === id).map((e) => e.prerequisiteId));
    }),
    /** An item's latest published version (what a card made from it shows). */
    latestItem: new DataLoader<string, PublishedItem | null>(async (ids) => {
      const rows = await db.publishedItem.findMany({
        where: { itemId: { in: [...ids] } },
        orderBy: { version: 'desc' },
        distinct: ['itemId'],
      });
      return byKey(ids, rows, (r) => r.itemId);
    }),
    /** Concept ids each lesson is tagged with. */
    lessonConcepts: new DataLoader<string, string[]>(async (ids) => {
      const tags = await db.lessonConcept.findMany({ where: { lessonId: { in: [...ids] } } });
      return ids.map((id) => tags.filter((t) => t.lessonId === id).map((t) => t.conceptId));
    }),
    /** A learner's stored settings (null: the defaults), for every card of theirs in one answer. */
    settings: new DataLoader<string, LearnerSettings | null>(async (ids) =>
      byKey(ids, await db.learnerSettings.findMany({ where: { userId: { in: [...ids] } } }), (r) => r.userId),
    ),
    /** Courses whose material a learner may study now (studyableCourses in deck.ts). */
    studyable: new DataLoader<string, Set<string>>(async (userIds) =>
      Promise.all(userIds.map(async (userId) => new Set(await studyableCourses(db, userId)))),
    ),
    latestNote: new DataLoader<string, PublishedNote | null>(async (ids) => {
      const rows = await db.publishedNote.findMany({
        where: { noteId: { in: [...ids] } },
        orderBy: { version: 'desc' },
        distinct: ['noteId'],
      });
      return byKey(ids, rows, (r) => r.noteId);
    }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
