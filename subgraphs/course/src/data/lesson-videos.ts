/**
 * The video projection: the consumer records which video each lesson shows and the caption
 * languages of each video; publishing asks which video lessons lack captions in a language.
 */
import type { Reader, Tx } from './db.js';

/** What an event of video says about a lesson, with its time and stream position. */
interface VideoFact {
  courseId: string;
  lessonId: string;
  videoId: string;
  /** When video decided it (the event's ready_at or changed_at). */
  at: Date;
  /** The event's position in the VIDEO stream: decides between equal times. */
  eventSequence: number;
}

/** Whether `lessonId` is a lesson of `courseId` here (draft content: the editable lessons table). */
export async function isLessonOfCourse(db: Reader, courseId: string, lessonId: string): Promise<boolean> {
  return (await db.lesson.count({ where: { id: lessonId, courseId } })) > 0;
}

/**
 * Records that the lesson shows this ready video, unless a newer ready video is already recorded: a
 * lesson shows its newest ready video whatever the delivery order. Returns whether it changed anything.
 */
export async function recordReadyVideo(tx: Tx, f: VideoFact): Promise<boolean> {
  const changed = await tx.$executeRaw`
    insert into lesson_videos (course_id, lesson_id, video_id, ready_at, event_sequence, updated_at)
    values (${f.courseId}::uuid, ${f.lessonId}::uuid, ${f.videoId}::uuid, ${f.at}, ${f.eventSequence}, now())
    on conflict (course_id, lesson_id) do update
       set video_id = excluded.video_id, ready_at = excluded.ready_at,
           event_sequence = excluded.event_sequence, updated_at = now()
     where (lesson_videos.ready_at, lesson_videos.event_sequence) < (excluded.ready_at, excluded.event_sequence)`;
  return changed > 0;
}

/**
 * Records a video's caption languages (every one it has now), unless a newer change is already
 * recorded. Kept whether or not the video is ready yet: captions may come first. Returns whether it
 * changed anything.
 */
export async function recordCaptionLanguages(tx: Tx, f: VideoFact & { languages: string[] }): Promise<boolean> {
  const changed = await tx.$executeRaw`
    insert into video_captions (course_id, video_id, lesson_id, languages, changed_at, event_sequence, updated_at)
    values (${f.courseId}::uuid, ${f.videoId}::uuid, ${f.lessonId}::uuid, ${f.languages}::text[], ${f.at},
            ${f.eventSequence}, now())
    on conflict (course_id, video_id) do update
       set lesson_id = excluded.lesson_id, languages = excluded.languages, changed_at = excluded.changed_at,
           event_sequence = excluded.event_sequence, updated_at = now()
     where (video_captions.changed_at, video_captions.event_sequence) < (excluded.changed_at, excluded.event_sequence)`;
  return changed > 0;
}

/**
 * Of the course's lessons `lessonIds`, those that show a ready video, with that video's caption
 * languages (empty when it has none). Lessons without a ready video are absent.
 */
export async function readyVideoCaptions(
  db: Reader,
  courseId: string,
  lessonIds: readonly string[],
): Promise<Map<string, string[]>> {
  if (lessonIds.length === 0) return new Map();
  const videos = await db.lessonVideo.findMany({
    where: { courseId, lessonId: { in: [...lessonIds] } },
    select: { lessonId: true, videoId: true },
  });
  const captions = await db.videoCaptions.findMany({
    where: { courseId, videoId: { in: videos.map((v) => v.videoId) } },
    select: { videoId: true, lessonId: true, languages: true },
  });
  // A caption row counts for the lesson it was recorded for only.
  const languages = new Map(captions.map((c) => [`${c.lessonId}/${c.videoId}`, c.languages]));
  return new Map(videos.map((v) => [v.lessonId, languages.get(`${v.lessonId}/${v.videoId}`) ?? []]));
}

/** Clears the projection before a replay rebuilds it. */
export async function clearLessonVideos(tx: Tx): Promise<void> {
  await tx.lessonVideo.deleteMany({});
  await tx.videoCaptions.deleteMany({});
}
