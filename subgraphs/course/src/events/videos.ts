/**
 * Course's projection of video's events (stream VIDEO): which ready video each lesson shows and the
 * caption languages of each video, so publishing can refuse a course whose video lessons lack
 * captions in its language without asking video. An event is applied only when its lesson is a
 * lesson of its course in course's own data: video records the ids an uploader gave, and an
 * instructor must not attach a video (or captions) to another course's lesson.
 */
import { VideoEvents } from '@coursegraph/contracts';
import { createLogger, on, requireIds, type Logger, type ReceivedEvent } from '@coursegraph/service-kit';
import type { Tx } from '../data/db.js';
import {
  clearLessonVideos,
  isLessonOfCourse,
  recordCaptionLanguages,
  recordReadyVideo,
} from '../data/lesson-videos.js';

let logger: Logger | undefined;
// Made on first use, at the service's LOG_LEVEL: handlers are built before the service's logger.
const log = (): Logger => (logger ??= createLogger('course').child({ consumer: 'course-videos' }));

/** The event's own time (RFC 3339); an event without one is a producer's bug, failed visibly. */
function eventTime(type: string, field: string, value: string): Date {
  const at = new Date(value);
  if (value === '' || Number.isNaN(at.getTime())) throw new Error(`${type} without a valid ${field}`);
  return at;
}

/** Whether the event's lesson is a lesson of its course here; logs and skips it otherwise. */
async function ownLesson(tx: Tx, e: ReceivedEvent, ids: { courseId: string; lessonId: string; videoId: string }) {
  if (await isLessonOfCourse(tx, ids.courseId, ids.lessonId)) return true;
  log().warn(
    { eventId: e.id, type: e.type, ...ids },
    'video event for a lesson that is not a lesson of that course here; ignored',
  );
  return false;
}

export const videoHandlers = [
  on(VideoEvents.ready, async (tx: Tx, e: ReceivedEvent<typeof VideoEvents.ready>) => {
    const { videoId, lessonId, courseId, readyAt } = e.payload;
    requireIds(e.type, { videoId, lessonId, courseId });
    const at = eventTime(e.type, 'ready_at', readyAt);
    if (!(await ownLesson(tx, e, { courseId, lessonId, videoId }))) return;
    await recordReadyVideo(tx, { courseId, lessonId, videoId, at, eventSequence: e.streamSequence });
  }),
  on(VideoEvents.captionsChanged, async (tx: Tx, e: ReceivedEvent<typeof VideoEvents.captionsChanged>) => {
    const { videoId, lessonId, courseId, languages, changedAt } = e.payload;
    requireIds(e.type, { videoId, lessonId, courseId });
    const at = eventTime(e.type, 'changed_at', changedAt);
    if (!(await ownLesson(tx, e, { courseId, lessonId, videoId }))) return;
    await recordCaptionLanguages(tx, {
      courseId,
      lessonId,
      videoId,
      languages: [...new Set(languages)],
      at,
      eventSequence: e.streamSequence,
    });
  }),
];

export const resetLessonVideos = clearLessonVideos;
