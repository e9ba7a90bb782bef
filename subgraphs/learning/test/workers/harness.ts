/**
 * What the background workers' tests share: a database of their own (a fresh copy of the migrated
 * test template, so scans see only this file's learners), learning's settings pointing at it and at
 * a private NATS as the `learning` user (its real permissions), and rows seeded directly: courses,
 * enrolments, and learners whose cards and review logs come from the domain simulator.
 */
import { createLogger, newId, readConfig } from '@coursegraph/service-kit';
import { contextDatabaseUrl, freshMigratedDatabase, privateNats, type PrivateNats } from '@coursegraph/test-support';
import { learningSettings, type LearningConfig } from '../../src/config.js';
import { createDb, type PrismaClient } from '../../src/data/db.js';
import { dayNumber, dayStart } from '../../src/domain/scheduling/load-balance.js';
import { createScheduler, RATINGS } from '../../src/domain/scheduling/scheduler.js';
import { inMemoryReviewPath, simulateLearner, type SimulationResult } from '../../src/domain/scheduling/simulator.js';

export const silent = createLogger('learning-workers-test', 'silent');
const DAY_MS = 86_400_000;

export interface WorkersHarness {
  db: PrismaClient;
  config: LearningConfig;
  nats: PrivateNats;
  close(): Promise<void>;
}

/** A fresh database `coursegraph_learning_<suite>` and, with `withNats`, a private NATS; `env`: settings of this suite. */
export async function startHarness(
  suite: string,
  { withNats = false, env = {} }: { withNats?: boolean; env?: Record<string, string> } = {},
): Promise<WorkersHarness> {
  const database = `coursegraph_learning_${suite}`;
  await freshMigratedDatabase(database);
  const nats = await privateNats();
  if (withNats) await nats.start();
  const config = readConfig(learningSettings, {
    ...process.env,
    LEARNING_DATABASE_URL: contextDatabaseUrl('learning', database),
    NATS_URL: nats.urlAs('learning'),
    ...env,
  });
  const db = createDb(config.databaseUrl);
  return {
    db,
    config,
    nats,
    async close() {
      await db.$disconnect();
      await nats.dispose();
    },
  };
}

/** A published course (learning's projection). */
export async function seedCourse(db: PrismaClient, { free = false } = {}): Promise<string> {
  const id = newId();
  await db.course.create({
    data: { id, instructorId: newId(), title: `Course ${id.slice(0, 8)}`, free, publishedVersion: 1 },
  });
  return id;
}

export async function enrol(
  db: PrismaClient,
  userId: string,
  courseId: string,
  { mode = 'PAID', active = true }: { mode?: 'FREE' | 'AUDIT' | 'PAID'; active?: boolean } = {},
): Promise<void> {
  await db.enrolment.create({ data: { userId, courseId, mode, active, eventSequence: 1n } });
}

export interface SimulatedLearner {
  userId: string;
  courseId: string;
  simulation: SimulationResult;
  /** Simulator card id → card row id. */
  cardIds: Map<string, string>;
  reviewCount: number;
}

/**
 * A learner simulated for `days` days ending before today (FSRS defaults, the real scheduler with
 * load balancing, in memory), stored as the review path would have left it: one card row per
 * simulated card in its final state (version = its reviews) and one review_logs row per review.
 */
export async function seedSimulatedLearner(
  db: PrismaClient,
  options: { seed: string; cards: number; days: number; newPerDay?: number; now?: Date },
): Promise<SimulatedLearner> {
  const userId = newId();
  const courseId = await seedCourse(db);
  await enrol(db, userId, courseId);
  const today = dayNumber(options.now ?? new Date());
  const path = inMemoryReviewPath(createScheduler());
  const simulation = await simulateLearner({
    seed: options.seed,
    cards: options.cards,
    days: options.days,
    newPerDay: options.newPerDay ?? 10,
    start: dayStart(today - options.days - 1),
    path,
  });
  // The in-memory path names cards card-1, card-2, … in the order it adds them.
  const simIds = Array.from({ length: options.cards }, (_, i) => `card-${i + 1}`);
  const cardIds = new Map(simIds.map((id) => [id, newId()]));
  const reps = new Map<string, number>();
  for (const r of simulation.reviews) reps.set(r.cardId, (reps.get(r.cardId) ?? 0) + 1);
  await db.card.createMany({
    data: simIds.map((simId, position) => {
      const s = path.card(simId)!;
      return {
        id: cardIds.get(simId)!,
        userId,
        courseId,
        source: 'NOTE' as const,
        sourceId: newId(),
        position,
        state: s.state,
        due: s.due,
        stability: s.stability,
        difficulty: s.difficulty,
        elapsedDays: s.elapsedDays,
        scheduledDays: s.scheduledDays,
        learningSteps: s.learningSteps,
        reps: s.reps,
        lapses: s.lapses,
        lastReview: s.lastReview,
        version: reps.get(simId) ?? 0,
      };
    }),
  });
  const logs = simulation.reviews.map((r) => ({
    id: newId(),
    cardId: cardIds.get(r.cardId)!,
    userId,
    rating: RATINGS.indexOf(r.rating) + 1,
    stateBefore: r.stateBefore,
    reviewedAt: r.reviewedAt,
    elapsedDays: 0,
    scheduledDays: 0,
    retrievability: r.predictedRecall,
    previous: {},
  }));
  for (let i = 0; i < logs.length; i += 5000) await db.reviewLog.createMany({ data: logs.slice(i, i + 5000) });
  return { userId, courseId, simulation, cardIds, reviewCount: logs.length };
}

/** A day later or earlier than `date`. */
export const days = (date: Date, n: number) => new Date(date.getTime() + n * DAY_MS);
