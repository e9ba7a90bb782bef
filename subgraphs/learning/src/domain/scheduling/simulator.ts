/**
 * A simulator of learners whose memory follows a known ground truth, reviewing through a review
 * path (the real GraphQL/database one, or {@link inMemoryReviewPath}) with an injected clock.
 *
 * Ground truth: each learner has their own "true" FSRS-6 parameters ({@link trueParameters}); each
 * card's true stability and difficulty evolve by FSRS-6 with them, and a review recalls with
 * probability p = R(t, S) of the true forgetting curve, t the time since the last review in days.
 */
import { FSRSAlgorithm, clipParameters, default_w, forgetting_curve } from 'ts-fsrs';
import { badInput } from '@coursegraph/service-kit';
import { randomFromSeed, type Random } from '../assessment/seeded-random.js';
import { DAY_START_HOUR_UTC_DEFAULT, dayNumber, dayStart } from './load-balance.js';
import type { CardHistory } from './optimizer.js';
import { compareQueueCards, dueQueuePlan, isInQueue } from './queue-limits.js';
import { gradeOf, newCardState, type CardState, type CardStateName, type Rating, type Scheduler } from './scheduler.js';

/** A card the queue offers. */
export interface DueCard {
  cardId: string;
  state: CardStateName;
  due: Date;
}

/** What the path tells about a review: the scheduler's predicted recall just before it (null for a new card). */
export interface ReviewOutcome {
  predictedRecall: number | null;
}

/**
 * The review path the simulator drives. The lead implements it over GraphQL and the database;
 * {@link inMemoryReviewPath} implements it over a {@link Scheduler}.
 */
export interface ReviewPath {
  /** Adds `count` new cards to the learner's deck at `now`, in introduction order; returns their ids. */
  addCards(count: number, now: Date): Promise<string[]>;
  /**
   * The cards due at `now`, in queue order: every (re)learning card whose due moment has come, then
   * at most `reviewLimit` review cards due today.
   */
  due(now: Date, reviewLimit: number): Promise<DueCard[]>;
  /** Up to `limit` new cards, in introduction order. */
  newCards(now: Date, limit: number): Promise<{ cardId: string }[]>;
  /** Answers a card at `now`. */
  review(cardId: string, rating: Rating, now: Date): Promise<ReviewOutcome>;
}

/** One simulated review. */
export interface SimulatedReview {
  cardId: string;
  reviewedAt: Date;
  rating: Rating;
  stateBefore: CardStateName;
  /** The scheduler's predicted recall (from the path); null for a new card. */
  predictedRecall: number | null;
  /** The true probability of recall; null for a card's first review (nothing to recall yet). */
  trueRecall: number | null;
}

/** What {@link simulateLearner} needs. */
export interface SimulationInput {
  /** Seeds the learner's true parameters and every draw. */
  seed: string;
  /** Cards in the deck. */
  cards: number;
  /** Simulated days. */
  days: number;
  /** Daily limits; default 20 new, 200 reviews. */
  newPerDay?: number;
  reviewsPerDay?: number;
  /** The first simulated day is the review day containing `start`. */
  start: Date;
  path: ReviewPath;
  /** Hour (UTC) the review day starts; default 4. Sessions begin 5 hours after it. */
  dayStartHourUtc?: number;
  /** True parameters; default {@link trueParameters}(seed). */
  trueParams?: readonly number[];
}

/** The simulation's record. */
export interface SimulationResult {
  trueParams: number[];
  reviews: SimulatedReview[];
  /** The reviews per card, for the optimizer. */
  histories: CardHistory[];
  /** Reviews done on each simulated day (index 0 = the first day). */
  reviewsPerDay: number[];
}

/**
 * First-answer probabilities for a new card (Again, Hard, Good, Easy): the FSRS simulator's
 * defaults (`first_rating_prob` in open-spaced-repetition's fsrs-optimizer), rounded.
 */
export const FIRST_RATING_PROBS = [0.24, 0.094, 0.495, 0.171] as const;

/**
 * After a recall with true probability p: Hard with probability 0.05 + 0.4(1 − p), Easy with
 * 0.2p², Good otherwise (a harder recall is more often rated Hard; an easy one more often Easy).
 */
export function successRatingProbs(p: number): { hard: number; good: number; easy: number } {
  const hard = 0.05 + 0.4 * (1 - p);
  const easy = 0.2 * p * p;
  return { hard, good: 1 - hard - easy, easy };
}

/** Spreads (standard deviations, in log units for × e^(σN)) of the true parameters around the defaults. */
export interface ParameterSpread {
  initialStability: number;
  initialDifficulty: number;
  recallGrowth: number;
  lapseStability: number;
  decay: number;
}

/**
 * The default spread, calibrated on the srs-benchmark's gap between FSRS-6 with default and with
 * trained parameters (log loss 0.3393 vs 0.3214, about 0.018): with these values the simulated
 * learners' true parameters beat the defaults on held-out log loss by 0.017 on average (16 learners,
 * ~600 reviews each; measured 0.007 with two thirds of these spreads and 0.038 with 4/3 of them).
 */
export const DEFAULT_SPREAD: Readonly<ParameterSpread> = Object.freeze({
  initialStability: 1.5,
  initialDifficulty: 1.95,
  recallGrowth: 0.75,
  lapseStability: 0.75,
  decay: 0.9,
});

/** Smallest initial stability (days) ts-fsrs 5 uses for a new card's first answer, whatever w0..w3 say. */
export const MIN_INITIAL_STABILITY = 0.1;

/**
 * A learner's true FSRS-6 parameters, perturbed from ts-fsrs' defaults by seeded draws (N = standard
 * normal, σ from `spread`, default {@link DEFAULT_SPREAD}): initial stabilities w0..w3 × e^(σN) each
 * (then sorted, so Again ≤ Hard ≤ Good ≤ Easy), initial difficulty w4 + σN, recall growth w8 + σN,
 * post-lapse stability w11 × e^(σN), and the forgetting curve's decay w20 × e^(σN); then clipped to
 * FSRS-6's legal ranges (ts-fsrs `clipParameters`). Initial stabilities are at least
 * {@link MIN_INITIAL_STABILITY} days: ts-fsrs (which drives the ground truth) starts a card at
 * max(w[G−1], 0.1), so a lower value would be reported as the truth without being used.
 */
export function trueParameters(seed: string, spread: Readonly<ParameterSpread> = DEFAULT_SPREAD): number[] {
  const random = randomFromSeed(`true-params:${seed}`);
  const w = [...default_w];
  const initial = [0, 1, 2, 3]
    .map((i) => w[i]! * Math.exp(spread.initialStability * normal(random)))
    .sort((a, b) => a - b);
  initial.forEach((s, i) => (w[i] = Math.max(s, MIN_INITIAL_STABILITY)));
  w[4] = w[4]! + spread.initialDifficulty * normal(random);
  w[8] = w[8]! + spread.recallGrowth * normal(random);
  w[11] = w[11]! * Math.exp(spread.lapseStability * normal(random));
  w[20] = w[20]! * Math.exp(spread.decay * normal(random));
  return clipParameters(w, 1, true);
}

/** A standard normal draw (Box-Muller). */
function normal(random: Random): number {
  const u = Math.max(random(), Number.MIN_VALUE);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function pick<T>(random: Random, outcomes: readonly T[], probs: readonly number[]): T {
  let x = random();
  for (let i = 0; i < outcomes.length - 1; i++) {
    x -= probs[i]!;
    if (x < 0) return outcomes[i]!;
  }
  return outcomes[outcomes.length - 1]!;
}

/** Seconds a simulated answer takes; the clock moves by this after each review. */
const SECONDS_PER_REVIEW = 12;
/** The learner checks the queue again this often while (re)learning cards are pending. */
const POLL_MS = 5 * 60_000;
/** A session ends after this many empty polls in a row (longer than the 10-minute steps). */
const EMPTY_POLLS_TO_STOP = 3;

/**
 * Simulates one learner for `days` days: each day one session (starting 5 h after the day start)
 * that works through the due queue (learning, then reviews up to the review limit) and new cards up
 * to the new limit ({@link dueQueuePlan}), polling every 5 minutes while learning steps are pending.
 * Answers are drawn from the ground truth (see the module doc, {@link FIRST_RATING_PROBS},
 * {@link successRatingProbs}). Deterministic given the input.
 */
export async function simulateLearner(input: SimulationInput): Promise<SimulationResult> {
  const { seed, cards, days, start, path } = input;
  const dayStartHourUtc = input.dayStartHourUtc ?? DAY_START_HOUR_UTC_DEFAULT;
  if (!Number.isInteger(cards) || cards < 1)
    throw badInput(`cards is ${cards}; it must be a whole number ≥ 1.`, 'cards');
  if (!Number.isInteger(days) || days < 1) throw badInput(`days is ${days}; it must be a whole number ≥ 1.`, 'days');
  const trueParams = [...(input.trueParams ?? trueParameters(seed))];
  const truth = new FSRSAlgorithm({ w: trueParams, enable_short_term: true });
  const random = randomFromSeed(`answers:${seed}`);
  const memory = new Map<string, { stability: number; difficulty: number; last: Date }>();
  const reviews: SimulatedReview[] = [];
  const reviewsPerDay: number[] = [];
  const firstDay = dayNumber(start, dayStartHourUtc);
  await path.addCards(cards, dayStart(firstDay, dayStartHourUtc));

  const answer = async (cardId: string, stateBefore: CardStateName, now: Date): Promise<void> => {
    const known = memory.get(cardId);
    let rating: Rating;
    let trueRecall: number | null = null;
    if (!known) {
      rating = pick(random, ['AGAIN', 'HARD', 'GOOD', 'EASY'] as const, FIRST_RATING_PROBS);
    } else {
      const t = (now.getTime() - known.last.getTime()) / 86_400_000;
      trueRecall = forgetting_curve(trueParams, t, known.stability);
      if (random() >= trueRecall) rating = 'AGAIN';
      else {
        const { hard, good, easy } = successRatingProbs(trueRecall);
        rating = pick(random, ['HARD', 'GOOD', 'EASY'] as const, [hard, good, easy]);
      }
    }
    // The true state moves by FSRS-6 over whole review days, as the model it is compared with does.
    const deltaDays = known ? dayNumber(now, dayStartHourUtc) - dayNumber(known.last, dayStartHourUtc) : 0;
    const next = truth.next_state(known ?? null, deltaDays, gradeOf(rating));
    memory.set(cardId, { stability: next.stability, difficulty: next.difficulty, last: now });
    const { predictedRecall } = await path.review(cardId, rating, now);
    reviews.push({ cardId, reviewedAt: now, rating, stateBefore, predictedRecall, trueRecall });
  };

  for (let d = 0; d < days; d++) {
    let now = new Date(dayStart(firstDay + d, dayStartHourUtc).getTime() + 5 * 3_600_000);
    let newToday = 0;
    let reviewsToday = 0;
    let done = 0;
    let emptyPolls = 0;
    let newLeft = true;
    while (emptyPolls < EMPTY_POLLS_TO_STOP) {
      const plan = dueQueuePlan({
        newPerDay: input.newPerDay,
        reviewsPerDay: input.reviewsPerDay,
        newIntroducedToday: newToday,
        reviewsDoneToday: reviewsToday,
      });
      let batch: DueCard[] = await path.due(now, plan.reviewLimit);
      if (batch.length === 0 && newLeft && plan.newLimit > 0) {
        const fresh = await path.newCards(now, plan.newLimit);
        newLeft = fresh.length > 0;
        batch = fresh.map((c) => ({ cardId: c.cardId, state: 'NEW', due: now }));
      }
      if (batch.length === 0) {
        emptyPolls += 1;
        now = new Date(now.getTime() + POLL_MS);
        continue;
      }
      emptyPolls = 0;
      for (const card of batch) {
        await answer(card.cardId, card.state, now);
        if (card.state === 'NEW') newToday += 1;
        if (card.state === 'REVIEW') reviewsToday += 1;
        done += 1;
        now = new Date(now.getTime() + SECONDS_PER_REVIEW * 1000);
      }
    }
    reviewsPerDay.push(done);
  }

  const byCard = new Map<string, CardHistory>();
  for (const r of reviews) {
    const history = byCard.get(r.cardId) ?? { cardId: r.cardId, reviews: [] };
    history.reviews.push({ rating: r.rating, reviewedAt: r.reviewedAt });
    byCard.set(r.cardId, history);
  }
  return { trueParams, reviews, histories: [...byCard.values()], reviewsPerDay };
}

/** Options of {@link inMemoryReviewPath}. */
export interface InMemoryPathOptions {
  /** Give the scheduler each day's due counts, so review intervals are load-balanced; default true. */
  loadBalance?: boolean;
  /** Hour (UTC) the review day starts; default the scheduler's. */
  dayStartHourUtc?: number;
}

/** A {@link ReviewPath} over a {@link Scheduler}, in memory, plus a look at its cards. */
export interface InMemoryReviewPath extends ReviewPath {
  /** The current state of a card. */
  card(cardId: string): CardState | undefined;
  /** Review cards due on each day number from `firstDay` to `lastDay` (what the load balancer sees). */
  dueCounts(firstDay: number, lastDay: number): number[];
}

/**
 * A review path over `scheduler` in memory, for tests and quick runs: queue rules from
 * queue-limits.ts, the card id as fuzz seed, and (by default) load balancing from the due counts.
 */
export function inMemoryReviewPath(scheduler: Scheduler, options: InMemoryPathOptions = {}): InMemoryReviewPath {
  const dayStartHourUtc = options.dayStartHourUtc ?? scheduler.options.dayStartHourUtc;
  const cards = new Map<string, { state: CardState; position: number }>();
  const reviewDue = new Map<number, number>(); // day number → review cards due that day
  const count = (state: CardState, delta: number) => {
    if (state.state !== 'REVIEW') return;
    const day = dayNumber(state.due, dayStartHourUtc);
    reviewDue.set(day, (reviewDue.get(day) ?? 0) + delta);
  };
  const dueCounts = (firstDay: number, lastDay: number) =>
    Array.from({ length: Math.max(0, lastDay - firstDay + 1) }, (_, i) => reviewDue.get(firstDay + i) ?? 0);
  const queue = (now: Date) =>
    [...cards.entries()]
      .map(([id, c]) => ({ id, state: c.state.state, due: c.state.due, position: c.position }))
      .filter((c) => c.state !== 'NEW' && isInQueue(c, now, dayStartHourUtc))
      .sort(compareQueueCards);

  return {
    card: (cardId) => cards.get(cardId)?.state,
    dueCounts,
    async addCards(n, now) {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const id = `card-${cards.size + 1}`;
        cards.set(id, { state: newCardState(now), position: cards.size });
        ids.push(id);
      }
      return ids;
    },
    async due(now, reviewLimit) {
      const out: DueCard[] = [];
      let reviewsTaken = 0;
      for (const c of queue(now)) {
        if (c.state === 'REVIEW') {
          if (reviewsTaken >= reviewLimit) continue;
          reviewsTaken += 1;
        }
        out.push({ cardId: c.id, state: c.state, due: c.due });
      }
      return out;
    },
    async newCards(_now, limit) {
      return [...cards.entries()]
        .filter(([, c]) => c.state.state === 'NEW')
        .sort((a, b) => a[1].position - b[1].position)
        .slice(0, limit)
        .map(([cardId]) => ({ cardId }));
    },
    async review(cardId, rating, now) {
      const entry = cards.get(cardId);
      if (!entry) throw badInput(`No card ${cardId} in this deck.`, 'cardId');
      const predictedRecall = scheduler.retrievability(entry.state, now);
      const { card } = scheduler.review(
        entry.state,
        rating,
        now,
        options.loadBalance === false ? undefined : dueCounts,
        cardId,
      );
      count(entry.state, -1);
      count(card, +1);
      entry.state = card;
      return { predictedRecall };
    },
  };
}
