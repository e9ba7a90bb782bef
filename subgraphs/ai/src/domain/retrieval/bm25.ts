/**
 * The lexical ranker: an in-memory inverted index scored with Okapi BM25. The ai context keeps its
 * own (events only between contexts: it cannot ask the search subgraph), over its own projection of
 * lesson text and captions. Statistics (document frequencies, average length) are per course,
 * because every search is scoped to one course and should rank as if that course were the corpus.
 */
import type { CoursePassage } from './passage.js';
import { tokenize } from './tokenize.js';
import { TopK } from './top-k.js';

export interface Bm25Parameters {
  /** How fast repeats of a term stop adding to the score. */
  k1: number;
  /** How much a long passage is penalised for its length (0: not at all, 1: fully). */
  b: number;
}

export const DEFAULT_BM25: Bm25Parameters = { k1: 1.2, b: 0.75 };

export interface LexicalHit {
  passage: CoursePassage;
  score: number;
}

interface IndexedPassage {
  passage: CoursePassage;
  /** Terms in the passage (its length for BM25). */
  length: number;
  termCounts: Map<string, number>;
}

interface CourseCorpus {
  passages: Map<string, IndexedPassage>;
  /** term → passage id → how often the term occurs there. */
  postings: Map<string, Map<string, number>>;
  totalLength: number;
}

export class Bm25Index {
  private readonly courses = new Map<string, CourseCorpus>();
  /** passage id → its course, to find it again on removal. */
  private readonly courseOfPassage = new Map<string, string>();
  private readonly passagesOfLesson = new Map<string, Set<string>>();

  constructor(private readonly parameters: Bm25Parameters = DEFAULT_BM25) {}

  get size(): number {
    return this.courseOfPassage.size;
  }

  /** Indexes a passage; one already there under the same id is replaced. */
  add(passage: CoursePassage): void {
    this.remove(passage.id);
    let corpus = this.courses.get(passage.courseId);
    if (!corpus) {
      corpus = { passages: new Map(), postings: new Map(), totalLength: 0 };
      this.courses.set(passage.courseId, corpus);
    }
    const terms = tokenize(passage.text);
    const termCounts = new Map<string, number>();
    for (const term of terms) termCounts.set(term, (termCounts.get(term) ?? 0) + 1);
    for (const [term, count] of termCounts) {
      let posting = corpus.postings.get(term);
      if (!posting) corpus.postings.set(term, (posting = new Map()));
      posting.set(passage.id, count);
    }
    corpus.passages.set(passage.id, { passage, length: terms.length, termCounts });
    corpus.totalLength += terms.length;
    this.courseOfPassage.set(passage.id, passage.courseId);
    let lessonPassages = this.passagesOfLesson.get(passage.lessonId);
    if (!lessonPassages) this.passagesOfLesson.set(passage.lessonId, (lessonPassages = new Set()));
    lessonPassages.add(passage.id);
  }

  /** Drops a passage; false when it was not indexed. */
  remove(passageId: string): boolean {
    const courseId = this.courseOfPassage.get(passageId);
    if (courseId === undefined) return false;
    const corpus = this.courses.get(courseId)!;
    const indexed = corpus.passages.get(passageId)!;
    for (const term of indexed.termCounts.keys()) {
      const posting = corpus.postings.get(term)!;
      posting.delete(passageId);
      if (posting.size === 0) corpus.postings.delete(term);
    }
    corpus.passages.delete(passageId);
    corpus.totalLength -= indexed.length;
    if (corpus.passages.size === 0) this.courses.delete(courseId);
    this.courseOfPassage.delete(passageId);
    const lessonPassages = this.passagesOfLesson.get(indexed.passage.lessonId);
    lessonPassages?.delete(passageId);
    if (lessonPassages?.size === 0) this.passagesOfLesson.delete(indexed.passage.lessonId);
    return true;
  }

  /** Drops every passage of a lesson (its text or captions changed, or it was deleted); returns how many. */
  removeLesson(lessonId: string): number {
    const ids = [...(this.passagesOfLesson.get(lessonId) ?? [])];
    for (const id of ids) this.remove(id);
    return ids.length;
  }

  /** The k passages of the course that score highest for the query; only passages sharing a term score. */
  search(query: string, { courseId, k }: { courseId: string; k: number }): LexicalHit[] {
    const corpus = this.courses.get(courseId);
    if (!corpus) return [];
    const { k1, b } = this.parameters;
    const passageCount = corpus.passages.size;
    const averageLength = corpus.totalLength / passageCount || 1;
    const scores = new Map<string, number>();
    for (const term of new Set(tokenize(query))) {
      const posting = corpus.postings.get(term);
      if (!posting) continue;
      // Lucene's form of the idf: never negative, so a term in most passages still counts a little.
      const idf = Math.log(1 + (passageCount - posting.size + 0.5) / (posting.size + 0.5));
      for (const [passageId, count] of posting) {
        const length = corpus.passages.get(passageId)!.length;
        const saturated = (count * (k1 + 1)) / (count + k1 * (1 - b + (b * length) / averageLength));
        scores.set(passageId, (scores.get(passageId) ?? 0) + idf * saturated);
      }
    }
    const best = new TopK<CoursePassage>(k);
    for (const [passageId, score] of scores) {
      best.offer({ item: corpus.passages.get(passageId)!.passage, key: passageId, score });
    }
    return best.sorted().map(({ item, score }) => ({ passage: item, score }));
  }
}
