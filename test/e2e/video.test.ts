/**
 * A lesson's video through the platform: an instructor uploads a file made with FFmpeg's own test
 * sources over tus (interrupted halfway and resumed from its offset), the video subgraph probes and
 * transcodes it on its JetStream work queue, `Lesson.video` shows the figures through the gateway,
 * captions are validated, and playback URLs are signed per viewer and issued only to those entitled:
 * FFmpeg reads the HLS back through them; an altered signature gets 403; after a refund no new URL.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { natsConnectOptions } from '@coursegraph/service-kit';
import {
  checkoutWhenPurchasable,
  contextDatabaseUrl,
  createUpload,
  errorCode,
  eventually,
  makeClip,
  patchUpload,
  person,
  SANDBOX_CARDS,
  startE2E,
  tusHeaders,
  tusMetadata,
  type E2E,
  type Person,
} from '@coursegraph/test-support';

let e2e: E2E;
let instructor: Person;
let learner: Person;
let stranger: Person;
let admin: Person;
let db: pg.Client;
let tmp: string;
let videoUrl: string;
let courseId: string;
let lessonId: string;
let moduleId: string;

const LESSON_VIDEO = `query($c: ID!) { course(id: $c) {
  modules { lessons { ...LessonVideo } } draft { modules { lessons { ...LessonVideo } } } } }
fragment LessonVideo on Lesson { id video {
  id status progress error durationSeconds width height videoCodec audioCodec frameRate
  renditions { name width height bitrate codecs }
  captions { language label cueCount }
  playback { url posterUrl storyboardUrl expiresAt captions { language url } } } }`;

/** `lesson`'s video as `who` sees it: from the published course, else (its instructor) from the draft. */
async function lessonVideo(who: Person | null, lesson = lessonId): Promise<any> {
  const res = await e2e.gql(LESSON_VIDEO, { c: courseId }, who?.token);
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  const course = res.body.data!.course;
  const lessons = [...course.modules, ...(course.draft?.modules ?? [])].flatMap((m: any) => m.lessons);
  return lessons.find((l: any) => l.id === lesson)?.video;
}

/** Uploads a file in one PATCH as the instructor, for `lesson`; resolves once its last byte is acknowledged. */
async function upload(file: string, lesson: string): Promise<void> {
  const bytes = fs.readFileSync(file);
  const created = await createUpload(videoUrl, instructor.token, bytes.length, {
    lessonId: lesson,
    courseId,
    filename: path.basename(file),
    filetype: 'video/mp4',
  });
  expect(created.status).toBe(201);
  const done = await patchUpload(
    videoUrl,
    new URL(created.headers.get('location')!, videoUrl).pathname,
    instructor.token,
    0,
    bytes,
  );
  expect(done.status).toBe(204);
}

/** Waits until `lesson`'s newest video (as its instructor sees it) is in one of `statuses`. */
const videoIn = (lesson: string, statuses: string[], timeoutMs = 120_000) =>
  eventually(
    `lesson ${lesson}'s video to be ${statuses.join(' or ')}`,
    async () => {
      const v = await lessonVideo(instructor, lesson);
      return v && statuses.includes(v.status) ? v : undefined;
    },
    // Polled through the gateway as the instructor: slowly enough to stay under the per-user rate limit.
    { timeoutMs, intervalMs: 500 },
  );

beforeAll(async () => {
  // A short ack wait, so a job whose worker is killed is taken over within seconds.
  e2e = await startE2E('video', { env: { VIDEO_JOB_ACK_WAIT_SECONDS: '5' } });
  videoUrl = `http://127.0.0.1:${e2e.ports.video}`;
  [instructor, learner, stranger, admin] = await Promise.all([
    person(e2e, 'INSTRUCTOR'),
    person(e2e, 'LEARNER', 'watcher'),
    person(e2e, 'LEARNER', 'stranger'),
    person(e2e, 'ADMIN'),
  ]);
  db = new pg.Client({ connectionString: contextDatabaseUrl('video', e2e.database) });
  await db.connect();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-video-e2e-'));

  const gql = (q: string, v: Record<string, unknown>) => e2e.gql(q, v, instructor.token);
  const created = await gql(`mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }`, {
    i: {
      title: `Filmed ${Date.now()}`,
      category: 'programming',
      level: 'BEGINNER',
      language: 'en',
      summary: 'A course with a video',
      price: { amountMinor: 1500, currency: 'USD' },
    },
  });
  courseId = created.body.data!.createCourse.id;
  const mod = await gql(`mutation($i: AddModuleInput!) { addModule(input: $i) { id } }`, {
    i: { courseId, title: 'Watch' },
  });
  moduleId = mod.body.data!.addModule.id;
  const lesson = await gql(`mutation($i: AddLessonInput!) { addLesson(input: $i) { id } }`, {
    i: { moduleId, title: 'The clip', kind: 'VIDEO', body: 'A clip.', required: true },
  });
  lessonId = lesson.body.data!.addLesson.id;
}, 240_000);

afterAll(async () => {
  await db?.end();
  await e2e?.platform.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('upload', () => {
  it('only the course instructor may upload; an interrupted upload resumes from its offset', async () => {
    const clip = path.join(tmp, 'clip.mp4');
    makeClip(clip);
    const bytes = fs.readFileSync(clip);
    const metadata = { lessonId, courseId, filename: 'clip.mp4', filetype: 'video/mp4' };

    const anonymous = await fetch(`${videoUrl}/uploads`, {
      method: 'POST',
      headers: {
        'tus-resumable': '1.0.0',
        'upload-length': String(bytes.length),
        'upload-metadata': tusMetadata({ filetype: 'video/mp4' }),
      },
    });
    expect(anonymous.status).toBe(401);
    expect((await createUpload(videoUrl, stranger.token, bytes.length, metadata)).status).toBe(403);

    // The video context learns the draft's owner from course.course.created.
    const created = await eventually('video to know the draft course', async () => {
      const res = await createUpload(videoUrl, instructor.token, bytes.length, metadata);
      return res.status === 201 ? res : undefined;
    });
    const location = new URL(created.headers.get('location')!, videoUrl).pathname;

    // Half, then the connection "drops": HEAD says where to go on from; nothing is sent twice.
    const half = Math.floor(bytes.length / 2);
    const first = await patchUpload(videoUrl, location, instructor.token, 0, bytes.subarray(0, half));
    expect(first.status).toBe(204);
    const head = await fetch(`${videoUrl}${location}`, { method: 'HEAD', headers: tusHeaders(instructor.token) });
    expect(head.headers.get('upload-offset')).toBe(String(half));
    // Someone else cannot continue it.
    expect((await patchUpload(videoUrl, location, stranger.token, half, bytes.subarray(half))).status).toBe(403);
    const rest = await patchUpload(videoUrl, location, instructor.token, half, bytes.subarray(half));
    expect(rest.status).toBe(204);
    expect(rest.headers.get('upload-offset')).toBe(String(bytes.length));
  });

  it('the video is probed and transcoded to HLS; its figures are exact', async () => {
    const video = await eventually(
      'the video to be ready',
      async () => {
        const v = await lessonVideo(instructor);
        if (v?.status === 'FAILED') throw new Error(`video failed: ${v.error}`);
        return v?.status === 'READY' ? v : undefined;
      },
      { timeoutMs: 180_000 },
    );
    expect(video.durationSeconds).toBeCloseTo(4, 1);
    expect([video.width, video.height, video.videoCodec, video.audioCodec]).toEqual([320, 240, 'h264', 'aac']);
    expect(video.frameRate).toBe(25);
    // Never upscaled: one rung, the source's own height.
    expect(video.renditions.map((r: any) => [r.name, r.width, r.height])).toEqual([['240p', 320, 240]]);
    expect(video.renditions[0].codecs).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
    const row = await db.query(`select status::text, attempts from videos where lesson_id = $1`, [lessonId]);
    expect(row.rows).toEqual([{ status: 'READY', attempts: 1 }]);
  }, 180_000);
});

describe('captions', () => {
  it('a malformed file or a cue past the end is refused with its line; a good one is listed', async () => {
    const { id } = await lessonVideo(instructor);
    const put = (webvtt: string, who = instructor) =>
      e2e.gql(
        `mutation($v: ID!, $w: String!) { putVideoCaptions(videoId: $v, language: "en", label: "English", webvtt: $w) { language cueCount } }`,
        { v: id, w: webvtt },
        who.token,
      );
    const malformed = await put('WEBVTT\n\n00:00:01.000 -> 00:00:02.000\nHello\n');
    expect(errorCode(malformed)).toBe('BAD_USER_INPUT');
    expect(malformed.body.errors![0]!.message).toMatch(/line 3/);
    const past = await put(
      'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHello\n\n00:00:03.000 --> 00:00:09.000\nToo late\n',
    );
    expect(errorCode(past)).toBe('BAD_USER_INPUT');
    expect(past.body.errors![0]!.message).toMatch(/line 6/);
    expect(errorCode(await put('WEBVTT\n\n00:00:00.500 --> 00:00:01.500\nHi\n', stranger))).toBe('FORBIDDEN');
    const captions = await db.query('select count(*)::int as n from captions');
    expect(captions.rows[0].n).toBe(0);

    const ok = await put(
      'WEBVTT\n\n00:00:00.500 --> 00:00:01.500\nA fraction has two parts.\n\n00:00:02.000 --> 00:00:03.500\nThe numerator is on top.\n',
    );
    expect(ok.body.data?.putVideoCaptions).toEqual({ language: 'en', cueCount: 2 });
    const video = await lessonVideo(instructor);
    expect(video.captions).toEqual([{ language: 'en', label: 'English', cueCount: 2 }]);
    const event = await eventually('the captions event to be published', async () => {
      const r = await db.query(
        `select subject from outbox_events where subject = 'video.captions.changed' and published_at is not null`,
      );
      return r.rowCount ? r.rows : undefined;
    });
    expect(event).toHaveLength(1);
  });
});

describe('playback', () => {
  it('only entitled viewers get signed URLs; FFmpeg reads the HLS back through them', async () => {
    // Course refuses the publication until it has learned the English captions from video's events.
    await eventually('the course to be published', async () => {
      const res = await e2e.gql(
        `mutation($c: ID!) { publishCourse(courseId: $c) { id } }`,
        { c: courseId },
        instructor.token,
      );
      return res.body.errors ? undefined : true;
    });
    // Published: a learner sees the ready video's figures, but without an entitlement no URL.
    const seen = await eventually('the publication to reach video', async () => {
      const v = await lessonVideo(learner);
      return v ? v : undefined;
    });
    expect(seen.status).toBe('READY');
    expect(seen.playback).toBeNull();
    expect((await lessonVideo(null))?.playback ?? null).toBeNull();

    const order = (await checkoutWhenPurchasable(e2e.gql, learner, courseId, SANDBOX_CARDS.success)).body.data!.checkout
      .order;
    expect(order.status).toBe('PAID');
    const playback = await eventually(
      'the enrolment to reach video',
      async () => (await lessonVideo(learner))?.playback,
    );
    expect(playback.url).toContain(`/play/${seen.id}/master.m3u8?`);
    expect(playback.captions.map((c: any) => c.language)).toEqual(['en']);

    const master = await fetch(playback.url);
    expect(master.status).toBe(200);
    const text = await master.text();
    expect(text).toMatch(/^#EXTM3U/);
    expect(text).toContain('RESOLUTION=320x240');
    const probed = execFileSync(
      'ffprobe',
      ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', playback.url],
      {
        encoding: 'utf8',
      },
    );
    expect(Number(probed.trim())).toBeCloseTo(4, 0);

    const captions = await fetch(playback.captions[0].url);
    expect(captions.status).toBe(200);
    expect(await captions.text()).toContain('The numerator is on top.');
    const poster = await fetch(playback.posterUrl, { headers: { range: 'bytes=0-1' } });
    expect(poster.status).toBe(206);
    expect(Buffer.from(await poster.arrayBuffer())).toEqual(Buffer.from([0xff, 0xd8]));

    const altered = playback.url.replace(/sig=([^&])/, (_: string, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`);
    expect((await fetch(altered)).status).toBe(403);
    const otherVideo = playback.url.replace(`/play/${seen.id}/`, `/play/${crypto.randomUUID()}/`);
    expect((await fetch(otherVideo)).status).toBe(403);

    // A refund removes the entitlement: no new URL is issued (the issued one expires on its own).
    const refund = await e2e.gql(
      `mutation($o: ID!) { refundOrder(orderId: $o, reason: "requested by learner") { order { status } } }`,
      { o: order.id },
      admin.token,
    );
    expect(refund.body.data?.refundOrder.order.status).toBe('REFUNDED');
    await eventually('the refund to reach video', async () =>
      (await lessonVideo(learner))?.playback === null ? true : undefined,
    );
  }, 120_000);
});

describe('processing failures', () => {
  /** A new draft VIDEO lesson of the course (a draft of its next version). */
  async function newLesson(title: string): Promise<string> {
    const res = await e2e.gql(
      `mutation($i: AddLessonInput!) { addLesson(input: $i) { id } }`,
      { i: { moduleId, title, kind: 'VIDEO', body: title } },
      instructor.token,
    );
    return res.body.data!.addLesson.id;
  }

  it('a truncated file fails with a reason its instructor can act on, announced as video.video.failed', async () => {
    const lesson = await newLesson('Cut short');
    const whole = path.join(tmp, 'whole.mp4');
    makeClip(whole, 4);
    const cut = path.join(tmp, 'cut.mp4');
    const bytes = fs.readFileSync(whole);
    fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await upload(cut, lesson);
    const failed = await videoIn(lesson, ['FAILED', 'READY']);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toMatch(/upload it again|incomplete|damaged/);
    expect(failed.renditions).toEqual([]);
    expect(failed.playback).toBeNull();
    const event = await eventually('video.video.failed to be published', async () => {
      const r = await db.query(
        `select count(*)::int as n from outbox_events where subject = 'video.video.failed' and published_at is not null`,
      );
      return r.rows[0].n > 0 ? r.rows[0].n : undefined;
    });
    expect(event).toBe(1);
  }, 120_000);

  it('a worker killed mid-transcode: the job is taken over and the video becomes ready once', async () => {
    const lesson = await newLesson('Long take');
    const clip = path.join(tmp, 'long.mp4');
    makeClip(clip, 24, '640x360');
    await upload(clip, lesson);
    const processing = await videoIn(lesson, ['PROCESSING', 'READY']);
    expect(processing.status).toBe('PROCESSING');
    await e2e.platform.kill('video');
    await e2e.platform.restart('video');
    const ready = await videoIn(lesson, ['READY', 'FAILED'], 180_000);
    expect(ready.status).toBe('READY');
    expect(ready.renditions.map((r: any) => r.name)).toEqual(['240p', '360p']);
    const row = await db.query('select attempts from videos where id = $1', [ready.id]);
    expect(row.rows[0].attempts).toBeGreaterThanOrEqual(2);
    const ready_events = await eventually('video.video.ready of the taken-over job', async () => {
      const r = await db.query(
        `select count(*)::int as n from outbox_events where subject = 'video.video.ready' and published_at is not null`,
      );
      return r.rows[0].n >= 2 ? r.rows[0].n : undefined;
    });
    // One for the first lesson's video, one for this one: the take-over did not announce it twice.
    expect(ready_events).toBe(2);
  }, 300_000);

  it('cancelVideo stops a queued or running job; only the instructor may', async () => {
    const lesson = await newLesson('Changed my mind');
    const clip = path.join(tmp, 'cancel.mp4');
    makeClip(clip, 24, '640x360');
    await upload(clip, lesson);
    const started = await videoIn(lesson, ['QUEUED', 'PROCESSING', 'READY']);
    expect(started.status).not.toBe('READY');
    const cancel = (who: Person) =>
      e2e.gql(`mutation($v: ID!) { cancelVideo(videoId: $v) }`, { v: started.id }, who.token);
    expect(errorCode(await cancel(stranger))).toBe('FORBIDDEN');
    expect((await cancel(instructor)).body.data?.cancelVideo).toBe('CANCELLED');
    // It stays cancelled: the worker stops FFmpeg (or skips the job if it had not begun) and
    // settles the job, so the work queue holds nothing more for it.
    const nc = await connect(natsConnectOptions(e2e.natsUrl));
    try {
      const jsm = await jetstreamManager(nc);
      await eventually(
        'the job to leave the work queue',
        async () => {
          const info = await jsm.consumers.info('VIDEO_JOBS', 'video-transcoder');
          return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
    } finally {
      await nc.close();
    }
    const after = await lessonVideo(instructor, lesson);
    expect([after.status, after.renditions]).toEqual(['CANCELLED', []]);
  }, 180_000);
});
