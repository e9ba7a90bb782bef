/**
 * A course update reaches its learners in bounded chunks (one transaction each, resumable after a
 * crash without notifying anyone twice or losing anyone), and updates republished within the
 * coalescing window produce one notification per learner. Enrolment mails are de-duplicated per
 * user, course and UTC day.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnrollmentEvents } from '@coursegraph/contracts';
import { createLogger, newId } from '@coursegraph/service-kit';
import { recordCourseUpdate, runFanoutChunk, runFanouts } from '../src/events/course-update-fanout.js';
import { startNotification, type NotificationHarness } from './harness.js';
import { emailsOf, enrolled, inboxOf, publishCourse } from './fixtures.js';
import { eventually } from '@coursegraph/test-support';

const CHUNK = 3;
const MINUTE = 60_000;
let h: NotificationHarness;
beforeAll(async () => {
  h = await startNotification({ COURSE_UPDATE_FANOUT_CHUNK: String(CHUNK), COURSE_UPDATE_COALESCE_MINUTES: '60' });
});
afterAll(async () => {
  await h.close();
});

const silent = createLogger('notification-test', 'silent');
const updatesOf = async (userId: string) => (await inboxOf(h, userId)).filter((n) => n.type === 'COURSE_UPDATED');

async function learnersOf(courseId: string, n: number) {
  const learners = await Promise.all(Array.from({ length: n }, (_, i) => h.learner(`fan${i}`)));
  for (const l of learners) await enrolled(h, l.userId, courseId);
  await eventually(
    'every enrolment applied',
    async () => (await h.app.db.courseLearner.count({ where: { courseId, active: true } })) === n,
  );
  return learners;
}

describe('course update fan-out in chunks', () => {
  it('notifies every active learner once, chunk by chunk, and finishes the job', async () => {
    const { courseId } = await publishCourse(h, 'Chunked');
    const learners = await learnersOf(courseId, 7);
    await publishCourse(h, 'Chunked, revised', courseId, 2);
    const job = await eventually('the fan-out finished', async () => {
      const row = await h.app.db.courseUpdateFanout.findFirst({ where: { courseId } });
      return row?.finishedAt ? row : null;
    });
    expect(job).toMatchObject({ notified: 7, version: 2, title: 'Chunked, revised', foldedUpdates: 0 });
    expect(job.cursor).toBe(
      learners
        .map((l) => l.userId)
        .sort()
        .at(-1),
    );
    for (const l of learners)
      expect((await updatesOf(l.userId)).map((n) => n.sourceEventId)).toEqual([job.sourceEventId]);
  });

  it('a crash in the middle of a chunk loses nothing and doubles nothing: the chunk is redone from the cursor', async () => {
    await h.stopWorkers(); // this test drives the fan-out itself
    const failing = `fail_${newId().replace(/-/g, '')}`;
    const courseId = newId();
    const userIds = Array.from({ length: 7 }, () => newId()).sort();
    try {
      await h.app.db.courseTitle.create({ data: { courseId, title: 'Crashy', version: 2 } });
      await h.app.db.courseLearner.createMany({
        data: userIds.map((userId) => ({ courseId, userId, enrollmentId: newId(), active: true })),
      });
      const eventId = newId();
      const outcome = await h.app.db.$transaction((tx) =>
        recordCourseUpdate(tx, { courseId, eventId, title: 'Crashy', version: 2, at: new Date() }, 60),
      );
      expect(outcome).toBe('started');

      // The 5th learner's inbox row fails: the second chunk (learners 4 to 6) dies after writing the 4th's.
      await h.app.db.$executeRawUnsafe(
        `create function notification.${failing}() returns trigger language plpgsql as $$ begin raise exception 'simulated crash'; end $$`,
      );
      await h.app.db.$executeRawUnsafe(
        `create trigger ${failing} before insert on notification.notifications for each row when (new.user_id = '${userIds[4]}'::uuid) execute function notification.${failing}()`,
      );
      expect(await runFanoutChunk(h.app.db, { chunkSize: CHUNK, logger: silent })).toMatchObject({
        learners: 3,
        finished: false,
      });
      await expect(runFanoutChunk(h.app.db, { chunkSize: CHUNK, logger: silent })).rejects.toThrow(/simulated crash/);
      const afterCrash = await h.app.db.courseUpdateFanout.findFirstOrThrow({ where: { courseId } });
      expect(afterCrash).toMatchObject({ notified: 3, cursor: userIds[2], finishedAt: null });
      expect(await h.app.db.notification.count({ where: { userId: userIds[3]! } })).toBe(0); // rolled back with its chunk

      await h.app.db.$executeRawUnsafe(`drop trigger ${failing} on notification.notifications`);
      expect(await runFanouts(h.app.db, { chunkSize: CHUNK, logger: silent })).toBeGreaterThanOrEqual(2);
      const done = await h.app.db.courseUpdateFanout.findFirstOrThrow({ where: { courseId } });
      expect(done).toMatchObject({ notified: 7, cursor: userIds[6] });
      expect(done.finishedAt).not.toBeNull();
      for (const userId of userIds) {
        expect(
          await h.app.db.notification.findMany({ where: { userId }, select: { type: true, sourceEventId: true } }),
        ).toEqual([{ type: 'COURSE_UPDATED', sourceEventId: eventId }]);
      }
      // Nothing left to do: another run notifies nobody.
      expect(await runFanouts(h.app.db, { chunkSize: CHUNK, logger: silent })).toBe(0);
    } finally {
      await h.app.db.$executeRawUnsafe(`drop trigger if exists ${failing} on notification.notifications`);
      await h.app.db.$executeRawUnsafe(`drop function if exists notification.${failing}()`);
      await h.startWorkers();
    }
  });
});

describe('republishing is coalesced', () => {
  it('updates within the window notify each learner once; the first one after it notifies again; an older one never', async () => {
    const { courseId } = await publishCourse(h, 'Busy course');
    const learners = await learnersOf(courseId, 4);
    const t0 = new Date();
    await publishCourse(h, 'Busy course v2', courseId, 2, t0);
    await publishCourse(h, 'Busy course v3', courseId, 3, new Date(t0.getTime() + 10 * MINUTE));
    await publishCourse(h, 'Busy course v4', courseId, 4, new Date(t0.getTime() + 59 * MINUTE));
    const first = await eventually('the window closed to nothing more', async () => {
      const row = await h.app.db.courseUpdateFanout.findFirst({ where: { courseId } });
      return row?.finishedAt && row.foldedUpdates === 2 ? row : null;
    });
    for (const l of learners) expect(await updatesOf(l.userId)).toHaveLength(1);
    expect(first.notified).toBe(4);

    await publishCourse(h, 'Busy course v5', courseId, 5, new Date(t0.getTime() + 61 * MINUTE));
    await eventually(
      'the second window announced',
      async () => (await h.app.db.courseUpdateFanout.count({ where: { courseId, finishedAt: { not: null } } })) === 2,
    );
    for (const l of learners) {
      const updates = await updatesOf(l.userId);
      expect(updates).toHaveLength(2);
      expect(updates.at(-1)!.title).toBe('Busy course v5 was updated');
    }

    // A newer version stamped before the latest window (clock skew, a replay): recorded, not announced.
    await publishCourse(h, 'Busy course v6', courseId, 6, new Date(t0.getTime() - MINUTE));
    expect(await h.app.db.courseUpdateFanout.count({ where: { courseId } })).toBe(2);
    await h.app.db.$transaction(async (tx) => {
      expect(
        await recordCourseUpdate(
          tx,
          { courseId, eventId: newId(), title: 'x', version: 7, at: new Date(t0.getTime() - MINUTE) },
          60,
        ),
      ).toBe('stale');
    });
    for (const l of learners) expect(await updatesOf(l.userId)).toHaveLength(2);
  });
});

describe('enrolment mails are de-duplicated per user, course and UTC day', () => {
  it('enrol, unenrol, enrol in one day: two inbox entries, one email; another course or another day mails again', async () => {
    const { courseId, title } = await publishCourse(h, 'Loop course');
    const other = await publishCourse(h, 'Other course');
    const me = await h.learner('looper');
    const today = new Date();
    const first = newId();
    await enrolled(h, me.userId, courseId, { enrollmentId: first, at: today });
    await h.publish(EnrollmentEvents.revoked, {
      enrollmentId: first,
      userId: me.userId,
      courseId,
      reason: 'UNENROLLED',
      revokedAt: today.toISOString(),
    });
    await enrolled(h, me.userId, courseId, { at: today });
    await enrolled(h, me.userId, other.courseId, { at: today });
    await enrolled(h, me.userId, courseId, { at: new Date(today.getTime() + 86_400_000) });
    await eventually('four inbox entries', async () => (await inboxOf(h, me.userId)).length === 4);
    const mails = await eventually(
      'three emails sent',
      async () => h.smtp.to(me.email).length === 3 && h.smtp.to(me.email),
    );
    expect(mails.map((m) => m.parsed.subject).sort()).toEqual([
      `You are enrolled in ${title}`,
      `You are enrolled in ${title}`,
      'You are enrolled in Other course',
    ]);
    const day = (d: Date) => d.toISOString().slice(0, 10);
    expect((await emailsOf(h, me.userId)).map((e) => e.dedupeKey).sort()).toEqual(
      [
        `enrolment:${courseId}:${day(today)}`,
        `enrolment:${courseId}:${day(new Date(today.getTime() + 86_400_000))}`,
        `enrolment:${other.courseId}:${day(today)}`,
      ].sort(),
    );
    await h.sendDueMail();
    expect(h.smtp.to(me.email)).toHaveLength(3);
  });
});
