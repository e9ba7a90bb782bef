/**
 * Publication needs captions (WCAG 1.2.2), through the platform: an instructor's VIDEO lesson gets a
 * ready video; course, which learns videos and captions from video's events only, refuses to publish
 * the course naming the lesson, still refuses with captions in another language, and publishes once
 * captions in the course's language arrive.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import {
  contextDatabaseUrl,
  errorCode,
  eventually,
  makeClip,
  person,
  startE2E,
  uploadLessonVideo,
  type E2E,
  type Person,
} from '@coursegraph/test-support';

let e2e: E2E;
let instructor: Person;
/** Course's own database: the test waits on its projection, so no step races an event. */
let courseDb: pg.Client;
let tmp: string;
let courseId: string;
let lessonId: string;

const gql = (query: string, variables: Record<string, unknown>) => e2e.gql(query, variables, instructor.token);
const publish = () => gql(`mutation($c: ID!) { publishCourse(courseId: $c) { status version } }`, { c: courseId });
const status = async () =>
  (await gql(`query($c: ID!) { course(id: $c) { status version } }`, { c: courseId })).body.data!.course;

/** Adds captions in `language` to the lesson's video, then waits until course has applied the change. */
async function caption(videoId: string, language: string): Promise<void> {
  const res = await gql(
    `mutation($v: ID!, $l: String!, $w: String!) { putVideoCaptions(videoId: $v, language: $l, webvtt: $w) { language } }`,
    { v: videoId, l: language, w: 'WEBVTT\n\n00:00:00.200 --> 00:00:01.500\nHello.\n' },
  );
  expect(res.body.errors).toBeUndefined();
  await eventually(`course to learn the ${language} captions`, async () => {
    const r = await courseDb.query('select languages from video_captions where video_id = $1', [videoId]);
    return r.rows[0]?.languages.includes(language) ? true : undefined;
  });
}

beforeAll(async () => {
  e2e = await startE2E('video-captions');
  instructor = await person(e2e, 'INSTRUCTOR');
  courseDb = new pg.Client({ connectionString: contextDatabaseUrl('course', e2e.database) });
  await courseDb.connect();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-video-captions-e2e-'));

  const created = await gql(`mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }`, {
    i: { title: `Captioned ${Date.now()}`, category: 'programming', level: 'BEGINNER', language: 'en' },
  });
  courseId = created.body.data!.createCourse.id;
  const mod = await gql(`mutation($i: AddModuleInput!) { addModule(input: $i) { id } }`, {
    i: { courseId, title: 'Watch' },
  });
  const lesson = await gql(`mutation($i: AddLessonInput!) { addLesson(input: $i) { id } }`, {
    i: { moduleId: mod.body.data!.addModule.id, title: 'Short clip', kind: 'VIDEO', body: 'A clip.' },
  });
  lessonId = lesson.body.data!.addLesson.id;
}, 240_000);

afterAll(async () => {
  await courseDb?.end();
  await e2e?.platform.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('publication needs captions', () => {
  it('refuses a course whose ready video lacks captions in its language, naming the lesson, until they come', async () => {
    const clip = path.join(tmp, 'clip.mp4');
    makeClip(clip, 2, '160x120');
    await uploadLessonVideo(`http://127.0.0.1:${e2e.ports.video}`, instructor.token, clip, { courseId, lessonId });
    const video = await eventually(
      'the video to be ready',
      async () => {
        const res = await gql(
          `query($c: ID!) { course(id: $c) { modules { lessons { id video { id status error } } } } }`,
          {
            c: courseId,
          },
        );
        const v = res.body.data?.course.modules[0].lessons.find((l: any) => l.id === lessonId).video;
        if (v?.status === 'FAILED') throw new Error(`video failed: ${v.error}`);
        return v?.status === 'READY' ? v : undefined;
      },
      { timeoutMs: 180_000 },
    );
    await eventually('course to learn the ready video', async () => {
      const r = await courseDb.query('select video_id from lesson_videos where lesson_id = $1', [lessonId]);
      return r.rows[0]?.video_id === video.id ? true : undefined;
    });

    const refused = await publish();
    expect(errorCode(refused)).toBe('BAD_USER_INPUT');
    expect(refused.body.errors![0]!.message).toBe(
      `Add English ("en") captions to these video lessons before publishing: "Short clip" (id ${lessonId}).`,
    );
    expect(await status()).toEqual({ status: 'DRAFT', version: 0 });

    await caption(video.id, 'fr');
    expect(errorCode(await publish())).toBe('BAD_USER_INPUT');
    expect(await status()).toEqual({ status: 'DRAFT', version: 0 });

    await caption(video.id, 'en');
    const published = await publish();
    expect(published.body.errors).toBeUndefined();
    expect(published.body.data!.publishCourse).toEqual({ status: 'PUBLISHED', version: 1 });
  });
});
