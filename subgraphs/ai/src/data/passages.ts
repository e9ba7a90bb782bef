/**
 * Passages in the ai schema: written by the projections (lesson text, captions) without embeddings,
 * embedded when a process first loads their course (data/retrieval-index.ts), so a projection never
 * waits on an embedding provider and a change of embedding re-embeds on the next load.
 */
import type { Tx } from './db.js';
import type { CoursePassage } from '../domain/retrieval/passage.js';

/** Replaces a lesson's passages of one source (LESSON text or CAPTION) with `passages`. */
export async function replaceLessonPassages(
  tx: Tx,
  lessonId: string,
  source: 'LESSON' | 'CAPTION',
  passages: CoursePassage[],
): Promise<void> {
  await tx.passage.deleteMany({ where: { lessonId, source } });
  if (passages.length === 0) return;
  await tx.passage.createMany({
    data: passages.map((p, ordinal) => ({
      id: p.id,
      courseId: p.courseId,
      lessonId: p.lessonId,
      source: p.source,
      ordinal,
      text: p.text,
      startsAtSeconds: p.startsAtSeconds ?? null,
      embedding: new Uint8Array(0),
      embeddingModel: '',
    })),
  });
}
