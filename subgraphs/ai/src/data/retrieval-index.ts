/**
 * Each process's in-memory retrieval indexes, one per course, over the passages in the ai schema.
 * A course's index is rebuilt when its `passages_version` moved (a publication or a caption change
 * applied by whichever replica consumed it), so every replica answers from current passages; one
 * cheap look-up per search checks the version. Passages without a vector from the configured
 * embedding are embedded on load and written back. The least recently used courses are dropped
 * beyond a bound, so memory follows the courses in use, not the catalogue.
 */
import type { EmbeddingProvider } from '../providers/provider.js';
import type { PrismaClient } from './db.js';
import { createRetriever, type RetrievedPassage, type Retriever } from '../domain/retrieval/hybrid.js';
import { fromBytes, toBytes } from '../domain/retrieval/vector-index.js';
import type { CoursePassage } from '../domain/retrieval/passage.js';

export interface RetrievalIndex {
  /**
   * The k passages of the course that best answer `query`, from lessons in `allowedLessonIds` only
   * (the learner's entitlement: an audit of a paid course reaches its free previews alone).
   */
  search(options: {
    courseId: string;
    lessonId: string;
    query: string;
    k: number;
    allowedLessonIds: ReadonlySet<string> | 'all';
  }): Promise<RetrievedPassage[]>;
}

interface CachedCourse {
  version: number;
  retriever: Retriever;
}

export function createRetrievalIndex(db: PrismaClient, embedding: EmbeddingProvider, maxCourses = 200): RetrievalIndex {
  const courses = new Map<string, CachedCourse>();
  const loading = new Map<string, Promise<CachedCourse>>();

  async function load(courseId: string, version: number): Promise<CachedCourse> {
    const rows = await db.passage.findMany({ where: { courseId }, orderBy: [{ lessonId: 'asc' }, { ordinal: 'asc' }] });
    const stale = rows.filter(
      (r) => r.embeddingModel !== embedding.name || r.embedding.length !== embedding.dimensions * 4,
    );
    if (stale.length > 0) {
      const vectors = await embedding.embed(stale.map((r) => r.text));
      for (const [i, row] of stale.entries()) {
        const bytes = toBytes(vectors[i]!);
        row.embedding = bytes as typeof row.embedding;
        row.embeddingModel = embedding.name;
        await db.passage.updateMany({
          where: { id: row.id, text: row.text },
          data: { embedding: bytes as typeof row.embedding, embeddingModel: embedding.name },
        });
      }
    }
    const retriever = createRetriever({ embedding });
    retriever.addEmbedded(
      rows.map((r) => {
        const passage: CoursePassage = {
          id: r.id,
          courseId: r.courseId,
          lessonId: r.lessonId,
          source: r.source === 'CAPTION' ? 'CAPTION' : 'LESSON',
          text: r.text,
          ...(r.startsAtSeconds === null ? {} : { startsAtSeconds: r.startsAtSeconds }),
        };
        return { passage, vector: fromBytes(r.embedding, embedding.dimensions) };
      }),
    );
    return { version, retriever };
  }

  async function courseIndex(courseId: string): Promise<CachedCourse | null> {
    const course = await db.course.findUnique({ where: { id: courseId }, select: { passagesVersion: true } });
    if (!course) return null;
    const cached = courses.get(courseId);
    if (cached && cached.version === course.passagesVersion) {
      courses.delete(courseId); // re-insert: most recently used last
      courses.set(courseId, cached);
      return cached;
    }
    const key = `${courseId}:${course.passagesVersion}`;
    let pending = loading.get(key);
    if (!pending) {
      pending = load(courseId, course.passagesVersion).finally(() => loading.delete(key));
      loading.set(key, pending);
    }
    const fresh = await pending;
    courses.delete(courseId);
    courses.set(courseId, fresh);
    while (courses.size > maxCourses) courses.delete(courses.keys().next().value!);
    return fresh;
  }

  return {
    async search({ courseId, lessonId, query, k, allowedLessonIds }) {
      const index = await courseIndex(courseId);
      if (!index || index.retriever.size === 0) return [];
      // Ask for more when some lessons are out of reach, then keep the reachable ones.
      const wanted = allowedLessonIds === 'all' ? k : Math.min(50, k * 5);
      const hits = await index.retriever.search(query, { courseId, lessonId, k: wanted });
      const allowed = allowedLessonIds === 'all' ? hits : hits.filter((h) => allowedLessonIds.has(h.passage.lessonId));
      return allowed.slice(0, k);
    },
  };
}
