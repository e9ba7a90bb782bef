/**
 * Captions before publication: course learns from video's events which ready video each lesson
 * shows and which caption languages it has (the lesson videos projection), and refuses to publish a
 * course while a video lesson with a ready video lacks captions in the course's language.
 */
import { VideoEvents } from '@coursegraph/contracts';
import { newId, type EventHandler, type ReceivedEvent } from '@coursegraph/service-kit';
import { errorCode } from '@coursegraph/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tx } from '../src/data/db.js';
import { videoHandlers } from '../src/events/videos.js';
import { authoring, outboxFor, startCourse, type Actor, type CourseHarness } from './harness.js';

let h: CourseHarness;
let a: ReturnType<typeof authoring>;
let teacher: Actor;
/** The next VIDEO stream position: each event comes later than the previous one. */
let sequence = 1_000_000 + Date.now();
/** Event times, one second apart, so "newer" never depends on the clock. */
let clock = Date.parse('2026-12-01T00:00:00Z');
const later = () => new Date((clock += 1000)).toISOString();

beforeAll(async () => {
  h = await startCourse();
  a = authoring(h);
  teacher = await h.actor('INSTRUCTOR');
});
afterAll(async () => {
  await h.close();
});

/** Hands an event to the consumer's handler in a transaction, as the consumer would. */
async function deliver(
  type: typeof VideoEvents.ready | typeof VideoEvents.captionsChanged,
  payload: Record<string, unknown>,
  streamSequence = sequence++,
): Promise<void> {
  const handler = videoHandlers.find((x) => x.type === type) as EventHandler<Tx> | undefined;
  if (!handler) throw new Error(`no handler for ${type.subject}`);
  const event = {
    id: newId(),
    type: type.subject,
    source: 'video',
    time: new Date().toISOString(),
    traceparent: '',
    streamSequence,
    deliveryCount: 1,
    payload,
  };
  await h.app.db.$transaction((tx) => handler.handle(tx, event as ReceivedEvent));
}

interface LessonRef {
  courseId: string;
  lessonId: string;
}

const ready = (l: LessonRef, videoId: string, readyAt = later()) =>
  deliver(VideoEvents.ready, { videoId, ...l, renditions: ['240p'], readyAt });
const captioned = (l: LessonRef, videoId: string, languages: string[], changedAt = later()) =>
  deliver(VideoEvents.captionsChanged, {
    videoId,
    ...l,
    languages,
    language: languages[0] ?? 'en',
    segments: [],
    changedAt,
  });

/** A draft with one module: the lessons given (title and kind), in order. */
async function draft(lessons: [title: string, kind: 'VIDEO' | 'ARTICLE'][], input: Record<string, unknown> = {}) {
  const course = await a.createCourse(teacher, input);
  const mod = await a.addModule(teacher, course.id);
  const ids: string[] = [];
  for (const [title, kind] of lessons) ids.push((await a.addLesson(teacher, mod.id, { title, kind })).id);
  return { id: course.id as string, moduleId: mod.id as string, lessonIds: ids };
}

const lessonRef = (c: { id: string; lessonIds: string[] }, i: number): LessonRef => ({
  courseId: c.id,
  lessonId: c.lessonIds[i]!,
});

const status = async (courseId: string) =>
  (
    await h.ok<{ course: { status: string; version: number } }>(
      `query($id: ID!) { course(id: $id) { status version } }`,
      { id: courseId },
      teacher,
    )
  ).course;

describe('publishing a course with video lessons', () => {
  it('is refused while lessons with a ready video lack captions in its language, naming each; nothing changes', async () => {
    const c = await draft([
      ['Intro', 'VIDEO'],
      ['Reading', 'ARTICLE'],
      ['Demo', 'VIDEO'],
      ['Captioned', 'VIDEO'],
      ['No video yet', 'VIDEO'],
    ]);
    const [intro, demo, done] = [newId(), newId(), newId()];
    await ready(lessonRef(c, 0), intro);
    await ready(lessonRef(c, 2), demo);
    await ready(lessonRef(c, 3), done);
    await captioned(lessonRef(c, 3), done, ['en']);
    await captioned(lessonRef(c, 2), demo, ['fr']); // captions, but not in the course's language

    const refused = await a.publish(teacher, c.id);
    expect(errorCode(refused)).toBe('BAD_USER_INPUT');
    expect(refused.body.errors![0]!.message).toBe(
      `Add English ("en") captions to these video lessons before publishing: ` +
        `"Intro" (id ${c.lessonIds[0]}), "Demo" (id ${c.lessonIds[2]}).`,
    );
    expect(await status(c.id)).toEqual({ status: 'DRAFT', version: 0 });
    expect(await outboxFor(h, c.id)).toEqual([]);

    // Captions arrive (a regional tag serves the course's language): published.
    await captioned(lessonRef(c, 0), intro, ['en-US']);
    await captioned(lessonRef(c, 2), demo, ['fr', 'EN']);
    const res = await a.publish(teacher, c.id);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.publishCourse).toMatchObject({ status: 'PUBLISHED', version: 1 });
  });

  it('does not block video lessons without a ready video', async () => {
    const c = await draft([
      ['Unfilmed', 'VIDEO'],
      ['Also unfilmed', 'VIDEO'],
    ]);
    // Captions of a video that never became ready: nothing to check yet.
    await captioned(lessonRef(c, 0), newId(), ['de']);
    const res = await a.publish(teacher, c.id);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.publishCourse.version).toBe(1);
  });

  it('applies to every later publication too: a new ready video must be captioned before version 2', async () => {
    const c = await draft([['Talk', 'VIDEO']], { language: 'pt-BR' });
    expect((await a.publish(teacher, c.id)).body.errors).toBeUndefined();
    const video = newId();
    await ready(lessonRef(c, 0), video);
    await h.ok(
      `mutation($input: UpdateLessonInput!) { updateLesson(input: $input) { id } }`,
      { input: { lessonId: c.lessonIds[0], title: 'Talk, filmed' } },
      teacher,
    );
    const refused = await a.publish(teacher, c.id);
    expect(errorCode(refused)).toBe('BAD_USER_INPUT');
    expect(refused.body.errors![0]!.message).toBe(
      `Add Portuguese ("pt") captions to these video lessons before publishing: "Talk, filmed" (id ${c.lessonIds[0]}).`,
    );
    expect(await status(c.id)).toEqual({ status: 'PUBLISHED', version: 1 });

    await captioned(lessonRef(c, 0), video, ['pt-PT']);
    const res = await a.publish(teacher, c.id);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.publishCourse.version).toBe(2);
  });
});

describe('the lesson videos projection', () => {
  const rows = async (courseId: string) => ({
    videos: await h.app.db.lessonVideo.findMany({ where: { courseId }, select: { lessonId: true, videoId: true } }),
    captions: await h.app.db.videoCaptions.findMany({
      where: { courseId },
      select: { videoId: true, languages: true },
    }),
  });

  it("ignores events whose lesson is not a lesson of that course here: another course's, or unknown", async () => {
    const mine = await draft([['Mine', 'VIDEO']]);
    const theirs = await draft([['Theirs', 'VIDEO']]);
    const video = newId();
    // A video recorded against my course but naming their lesson, and one naming a lesson nobody has.
    await ready({ courseId: mine.id, lessonId: theirs.lessonIds[0]! }, video);
    await captioned({ courseId: mine.id, lessonId: theirs.lessonIds[0]! }, video, ['en']);
    await ready({ courseId: theirs.id, lessonId: newId() }, newId());
    expect(await rows(mine.id)).toEqual({ videos: [], captions: [] });
    expect(await rows(theirs.id)).toEqual({ videos: [], captions: [] });
    // Neither course is held back by them.
    expect((await a.publish(teacher, theirs.id)).body.errors).toBeUndefined();
  });

  it('keeps the newest ready video and the newest caption languages, whatever the delivery order', async () => {
    const c = await draft([['Lecture', 'VIDEO']]);
    const l = lessonRef(c, 0);
    const [first, second] = [newId(), newId()];
    const [firstReady, secondReady] = [later(), later()];
    await ready(l, second, secondReady);
    await ready(l, first, firstReady); // late: the lesson already shows a newer video
    await ready(l, second, secondReady); // redelivered
    const [added, removed] = [later(), later()];
    await captioned(l, second, [], removed); // English removed again...
    await captioned(l, second, ['en'], added); // ...after this late addition
    expect(await rows(c.id)).toEqual({
      videos: [{ lessonId: l.lessonId, videoId: second }],
      captions: [{ videoId: second, languages: [] }],
    });
    expect(errorCode(await a.publish(teacher, c.id))).toBe('BAD_USER_INPUT');

    // The first video's captions do not serve the second.
    await captioned(l, first, ['en']);
    expect(errorCode(await a.publish(teacher, c.id))).toBe('BAD_USER_INPUT');
    await captioned(l, second, ['en']);
    expect((await a.publish(teacher, c.id)).body.errors).toBeUndefined();
  });

  it('learns captions that come before the video is ready', async () => {
    const c = await draft([['Early captions', 'VIDEO']]);
    const video = newId();
    await captioned(lessonRef(c, 0), video, ['en']);
    await ready(lessonRef(c, 0), video);
    expect((await a.publish(teacher, c.id)).body.errors).toBeUndefined();
  });

  it('fails an event whose ids or time are not valid, and records nothing', async () => {
    const c = await draft([['Broken', 'VIDEO']]);
    await expect(ready({ courseId: c.id, lessonId: 'lesson-1' }, newId())).rejects.toThrow(/lessonId/);
    await expect(ready(lessonRef(c, 0), newId(), 'yesterday')).rejects.toThrow(/ready_at/);
    await expect(captioned(lessonRef(c, 0), 'v', ['en'])).rejects.toThrow(/videoId/);
    await expect(captioned(lessonRef(c, 0), newId(), ['en'], '')).rejects.toThrow(/changed_at/);
    expect(await rows(c.id)).toEqual({ videos: [], captions: [] });
  });
});
