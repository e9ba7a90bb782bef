/**
 * Captions of lesson videos (stream VIDEO): what is said in a video is retrievable like the lesson's
 * text, with the time it is said. Only captions in the course's language are kept (the tutor answers
 * in it); a course not heard of yet keeps whatever arrives.
 */
import { VideoEvents } from '@coursegraph/contracts';
import { on, requireIds, type ReceivedEvent } from '@coursegraph/service-kit';
import type { Tx } from '../data/db.js';
import { replaceLessonPassages } from '../data/passages.js';
import { chunkCaptions } from '../domain/retrieval/chunk.js';

const primary = (tag: string) => tag.split('-')[0]!.toLowerCase();

export const captionHandlers = [
  on(VideoEvents.captionsChanged, async (tx: Tx, e: ReceivedEvent<typeof VideoEvents.captionsChanged>) => {
    const { lessonId, courseId, language, segments } = e.payload;
    requireIds(e.type, { lessonId, courseId });
    const course = await tx.course.findUnique({ where: { id: courseId }, select: { language: true } });
    if (course && course.language && primary(course.language) !== primary(language)) return;
    const passages = chunkCaptions({
      courseId,
      lessonId,
      segments: segments.map((s) => ({
        startsAtSeconds: Number(s.startMs) / 1000,
        endsAtSeconds: Number(s.endMs) / 1000,
        text: s.text,
      })),
    });
    await replaceLessonPassages(tx, lessonId, 'CAPTION', passages);
    await tx.course.updateMany({ where: { id: courseId }, data: { passagesVersion: { increment: 1 } } });
  }),
];

export async function resetCaptions(tx: Tx): Promise<void> {
  await tx.passage.deleteMany({ where: { source: 'CAPTION' } });
}
