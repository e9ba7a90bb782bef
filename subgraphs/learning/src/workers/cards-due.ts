/**
 * The daily cards-due job: a learner with cards to study today in a course they may study (review
 * and (re)learning cards due by the end of the review day, and new cards within what is left of
 * today's new limit; suspended and buried cards left out, as the review queue does) is told once
 * per review day: a due_reminders row for (learner, YYYY-MM-DD) and learning.cards.due, written in
 * one transaction (the outbox relay publishes it). The row's primary key makes it once per day,
 * even with replicas running the job at once. Notification turns the event into a reminder under
 * the learner's preferences.
 *
 * Each run examines at most `batch` learners, going on from the last one examined by the previous
 * run (in user-id order), so every learner is reached within a few runs.
 */
import { LearningEvents } from '@coursegraph/contracts';
import { enqueueEvent, type Logger } from '@coursegraph/service-kit';
import type { PrismaClient, Tx } from '../data/db.js';
import { GRANTS_MATERIAL } from '../data/deck.js';
import { DEFAULT_SETTINGS } from '../domain/reviews.js';
import { DAY_START_HOUR_UTC_DEFAULT, dayNumber, dayStart } from '../domain/scheduling/load-balance.js';
import { dueQueuePlan } from '../domain/scheduling/queue-limits.js';

const CONTEXT = 'learning';

const FIRST_ID = '00000000-0000-0000-0000-000000000000';

/** The review day as YYYY-MM-DD: the UTC date on which it starts (04:00 UTC by default). */
export function reviewDay(now: Date, dayStartHourUtc = DAY_START_HOUR_UTC_DEFAULT): string {
  return dayStart(dayNumber(now, dayStartHourUtc), dayStartHourUtc).toISOString().slice(0, 10);
}

/** What a learner has to study today within their limits (the queue's counts, computed for the day). */
export async function studyToday(tx: Tx, userId: string, now: Date): Promise<{ dueCount: number; newCount: number }> {
  const today = dayNumber(now);
  const todayStart = dayStart(today);
  const tomorrow = dayStart(today + 1);
  const settings = (await tx.learnerSettings.findUnique({ where: { userId } })) ?? DEFAULT_SETTINGS;
  const [done] = await tx.$queryRaw<{ introduced: number; reviewed: number }[]>`
    select count(*) filter (where state_before = 'NEW')::int as introduced,
           count(*) filter (where state_before = 'REVIEW')::int as reviewed
      from review_logs where user_id = ${userId}::uuid and reviewed_at >= ${todayStart} and undone_at is null`;
  const plan = dueQueuePlan({
    newPerDay: settings.newPerDay,
    reviewsPerDay: settings.reviewsPerDay,
    newIntroducedToday: done?.introduced ?? 0,
    reviewsDoneToday: done?.reviewed ?? 0,
  });
  const [counts] = await tx.$queryRaw<{ reviews: number; learning: number; fresh: number }[]>`
    select count(*) filter (where k.state = 'REVIEW' and k.due < ${tomorrow})::int as reviews,
           count(*) filter (where k.state in ('LEARNING', 'RELEARNING') and k.due < ${tomorrow})::int as learning,
           count(*) filter (where k.state = 'NEW')::int as fresh
      from cards k
      join enrolments e on e.user_id = k.user_id and e.course_id = k.course_id and e.active
      join courses c on c.id = k.course_id
     where k.user_id = ${userId}::uuid and ${GRANTS_MATERIAL}
       and not k.suspended and (k.buried_until is null or k.buried_until <= ${now})`;
  return {
    dueCount: Math.min(counts?.reviews ?? 0, plan.reviewLimit) + (counts?.learning ?? 0),
    newCount: Math.min(counts?.fresh ?? 0, plan.newLimit),
  };
}

/** Learners after `after` (user-id order) who may study a course holding cards for today and have no reminder for `day`. */
async function candidates(db: PrismaClient, after: string, day: string, now: Date, batch: number): Promise<string[]> {
  const tomorrow = dayStart(dayNumber(now) + 1);
  const rows = await db.$queryRaw<{ user_id: string }[]>`
    select distinct e.user_id::text as user_id
      from enrolments e join courses c on c.id = e.course_id
     where e.active and ${GRANTS_MATERIAL} and e.user_id > ${after}::uuid
       and not exists (select 1 from due_reminders d where d.user_id = e.user_id and d.day = ${day})
       and exists (select 1 from cards k
                    where k.user_id = e.user_id and k.course_id = e.course_id and not k.suspended
                      and (k.buried_until is null or k.buried_until <= ${now})
                      and (k.state = 'NEW' or k.due < ${tomorrow}))
     order by 1
     limit ${batch}`;
  return rows.map((r) => r.user_id);
}

/** Tells one learner, unless they have nothing within today's limits or were told today already. True when an event was written. */
export async function remindLearner(db: PrismaClient, userId: string, now: Date, day: string): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const { dueCount, newCount } = await studyToday(tx, userId, now);
    if (dueCount + newCount === 0) return false;
    const inserted = await tx.$executeRaw`
      insert into due_reminders (user_id, day) values (${userId}::uuid, ${day}) on conflict do nothing`;
    if (inserted === 0) return false;
    await enqueueEvent(tx, CONTEXT, LearningEvents.cardsDue, { userId, dueCount, newCount, day });
    return true;
  });
}

export interface CardsDueJob {
  /** One run at `now`: returns the events written. */
  run(now: Date): Promise<number>;
}

/** The job with its cursor (kept in memory: after a restart it starts from the first learner again). */
export function cardsDueJob(db: PrismaClient, options: { batch: number; logger: Logger }): CardsDueJob {
  let cursor = { day: '', after: FIRST_ID };
  return {
    async run(now) {
      const day = reviewDay(now);
      if (cursor.day !== day) cursor = { day, after: FIRST_ID };
      const users = await candidates(db, cursor.after, day, now, options.batch);
      // A short page means the end was reached: the next run starts from the first learner again.
      cursor.after = users.length < options.batch ? FIRST_ID : users[users.length - 1]!;
      let sent = 0;
      for (const userId of users) if (await remindLearner(db, userId, now, day)) sent++;
      if (users.length > 0) options.logger.info({ day, examined: users.length, sent }, 'cards-due reminders written');
      return sent;
    },
  };
}
