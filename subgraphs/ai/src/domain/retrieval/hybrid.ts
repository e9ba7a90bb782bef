/**
 * Hybrid retrieval: the lexical ranker (BM25, exact words: names, code, rare terms) and the vector
 * ranker (the embedding: overlapping wording, spelling variants, and meaning with a learned model)
 * each rank the course's passages; reciprocal rank fusion merges the two lists.
 *
 * Why rank fusion rather than adding scores: BM25 scores are unbounded and depend on the query's
 * length, cosines live in [-1, 1]; no weighting of the two holds across queries. Ranks are on one
 * scale, and 1/(60 + rank) (the constant from Cormack et al., 2009) lets a passage that both rankers
 * place well beat one that a single ranker places first.
 */
import { badInput } from '@coursegraph/service-kit';
import type { EmbeddingProvider } from '../../providers/provider.js';
import { Bm25Index } from './bm25.js';
import type { CoursePassage } from './passage.js';
import { VectorIndex } from './vector-index.js';

export const RRF_K = 60;
/** Passages each ranker contributes to the fusion (more than k, so the second ranker can lift one the first missed). */
export const CANDIDATES_PER_RANKER = 50;
export const MAX_K = 50;
/** A guard, not the product's prompt limit (the tutor caps messages well below it). */
export const MAX_QUERY_CHARS = 8_000;

export type Ranker = 'LEXICAL' | 'VECTOR';
/** HYBRID in production; one ranker alone to measure what each contributes. */
export type RetrievalMode = 'HYBRID' | Ranker;

export interface RetrievedPassage {
  passage: CoursePassage;
  /** The fused score: Σ 1/(RRF_K + rank) over the rankers that found it (ranks moved up by the same-lesson boost). */
  score: number;
  /** The rankers that had it among their candidates. */
  foundBy: Ranker[];
  /** The rankers' own places (1 = first), before any boost. */
  lexicalRank?: number;
  vectorRank?: number;
}

export interface RetrievalQuery {
  courseId: string;
  /** The lesson the learner is on: its passages get the same-lesson boost (RetrieverOptions). */
  lessonId?: string;
  k: number;
  mode?: RetrievalMode;
}

export interface EmbeddedPassage {
  passage: CoursePassage;
  vector: Float32Array;
}

export interface Retriever {
  readonly embedding: EmbeddingProvider;
  readonly size: number;
  /** Embeds and indexes passages (replacing any with the same id); nothing is indexed if embedding fails. */
  add(passages: CoursePassage[]): Promise<void>;
  /** Indexes passages whose vectors were stored earlier (the start-up load from the ai schema). */
  addEmbedded(entries: EmbeddedPassage[]): void;
  remove(passageId: string): boolean;
  /** Drops every passage of a lesson; returns how many. */
  removeLesson(lessonId: string): number;
  search(query: string, options: RetrievalQuery): Promise<RetrievedPassage[]>;
}

export interface RetrieverOptions {
  embedding: EmbeddingProvider;
  /**
   * The same-lesson boost, in places: a passage of the learner's current lesson is fused as if each
   * ranker had placed it this many places higher, though never past another passage's first place.
   *
   * Why: a learner mostly asks about the lesson in front of them, and a short question ("what does
   * this step do?") matches passages all over the course. Moving the current lesson's passages up a
   * few places settles near-ties in its favour and lifts them into the top k, while each ranker's
   * first choice keeps its place: the answer may sit in an earlier lesson this one builds on.
   * Why places rather than a bonus score: with RRF_K = 60 the first ten places differ by only 14% in
   * score, so any constant bonus large enough to matter would lift every passage of the lesson,
   * related or not, above a clear winner elsewhere.
   */
  sameLessonBoost?: number;
}

export function createRetriever({ embedding, sameLessonBoost = 3 }: RetrieverOptions): Retriever {
  if (!Number.isInteger(sameLessonBoost) || sameLessonBoost < 0) {
    throw new RangeError(`The same-lesson boost is a number of places (an integer ≥ 0), not ${sameLessonBoost}.`);
  }
  const lexical = new Bm25Index();
  const vectors = new VectorIndex(embedding.dimensions);
  const passages = new Map<string, CoursePassage>();
  const passagesOfLesson = new Map<string, Set<string>>();

  function addEmbedded(entries: EmbeddedPassage[]) {
    // Check everything first, so one bad entry leaves the indexes as they were.
    for (const { passage, vector } of entries) {
      if (!(vector instanceof Float32Array) || vector.length !== embedding.dimensions) {
        throw new RangeError(
          `Passage ${passage.id} has a vector of ${vector?.length} dimensions; ${embedding.name} makes ${embedding.dimensions}.`,
        );
      }
      if (!vector.every(Number.isFinite)) throw new RangeError(`Passage ${passage.id} has a vector with a non-number.`);
    }
    for (const { passage, vector } of entries) {
      remove(passage.id); // it may have moved lesson or course
      lexical.add(passage);
      vectors.add(passage.id, passage.courseId, vector);
      passages.set(passage.id, passage);
      let ids = passagesOfLesson.get(passage.lessonId);
      if (!ids) passagesOfLesson.set(passage.lessonId, (ids = new Set()));
      ids.add(passage.id);
    }
  }

  function remove(passageId: string): boolean {
    const passage = passages.get(passageId);
    if (!passage) return false;
    lexical.remove(passageId);
    vectors.remove(passageId);
    passages.delete(passageId);
    const ids = passagesOfLesson.get(passage.lessonId)!;
    ids.delete(passageId);
    if (ids.size === 0) passagesOfLesson.delete(passage.lessonId);
    return true;
  }

  return {
    embedding,
    get size() {
      return passages.size;
    },

    async add(newPassages) {
      const embedded = await embedding.embed(newPassages.map((passage) => passage.text));
      if (embedded.length !== newPassages.length) {
        throw new Error(`${embedding.name} returned ${embedded.length} vectors for ${newPassages.length} passages.`);
      }
      addEmbedded(newPassages.map((passage, i) => ({ passage, vector: embedded[i]! })));
    },

    addEmbedded,
    remove,

    removeLesson(lessonId) {
      const ids = [...(passagesOfLesson.get(lessonId) ?? [])];
      for (const id of ids) remove(id);
      return ids.length;
    },

    async search(query, { courseId, lessonId, k, mode = 'HYBRID' }) {
      checkQuery(query, { courseId, lessonId, k });
      // Embed first: after this await both rankers run without yielding, on the same set of passages.
      const queryVector = mode === 'LEXICAL' ? undefined : (await embedding.embed([query]))[0];
      if (mode !== 'LEXICAL' && !queryVector) throw new Error(`${embedding.name} returned no vector for the query.`);
      const depth = Math.max(CANDIDATES_PER_RANKER, k);
      const fused = new Map<string, RetrievedPassage>();
      const vote = (passageId: string, ranker: Ranker, rank: number) => {
        const passage = passages.get(passageId)!;
        let entry = fused.get(passageId);
        if (!entry) fused.set(passageId, (entry = { passage, score: 0, foundBy: [] }));
        const sameLesson = lessonId !== undefined && passage.lessonId === lessonId;
        const fusedRank = sameLesson && rank > 1 ? Math.max(2, rank - sameLessonBoost) : rank;
        entry.score += 1 / (RRF_K + fusedRank);
        entry.foundBy.push(ranker);
        if (ranker === 'LEXICAL') entry.lexicalRank = rank;
        else entry.vectorRank = rank;
      };

      if (mode !== 'VECTOR') {
        lexical.search(query, { courseId, k: depth }).forEach((hit, i) => vote(hit.passage.id, 'LEXICAL', i + 1));
      }
      if (queryVector) {
        vectors
          .search(queryVector, { courseId, k: depth })
          // A cosine of zero or below: nothing in common with the query.
          .filter((hit) => hit.score > 0)
          .forEach((hit, i) => vote(hit.id, 'VECTOR', i + 1));
      }

      // Equal scores: the current lesson first, then by id, so the order is the same every time.
      const inLesson = (result: RetrievedPassage) => (result.passage.lessonId === lessonId ? 0 : 1);
      return [...fused.values()]
        .sort((a, b) => b.score - a.score || inLesson(a) - inLesson(b) || compareIds(a.passage.id, b.passage.id))
        .slice(0, k);
    },
  };
}

const compareIds = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function checkQuery(query: string, { courseId, lessonId, k }: Omit<RetrievalQuery, 'mode'>) {
  if (typeof query !== 'string' || query.trim() === '') throw badInput('The question is empty.', 'query');
  if (query.length > MAX_QUERY_CHARS) {
    throw badInput(
      `The question is ${query.length} characters long; at most ${MAX_QUERY_CHARS} are searched.`,
      'query',
    );
  }
  if (typeof courseId !== 'string' || courseId === '') throw badInput('A search is scoped to a course id.', 'courseId');
  if (lessonId !== undefined && (typeof lessonId !== 'string' || lessonId === '')) {
    throw badInput('The lesson id, when given, must not be empty.', 'lessonId');
  }
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) {
    throw badInput(`k is the number of passages wanted, 1 to ${MAX_K}; got ${k}.`, 'k');
  }
}
