/**
 * The learning contour through the one endpoint, with time moved by the x-coursegraph-clock header
 * (CLOCK_HEADER on for this suite's platform): an instructor authors an item bank, a quiz, notes and
 * a concept graph before publishing; a learner enrols, takes the quiz and passes it (the lesson
 * counts toward completion), reviews cards over simulated days, and sees mastery and
 * recommendations move. Every piece of bad input is refused with its error and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import {
  contextDatabaseUrl,
  errorCode,
  eventually,
  person,
  postGraphQL,
  startE2E,
  type E2E,
  type GraphQLResponse,
  type Person,
} from '@coursegraph/test-support';
import { createScheduler, type CardState } from '../../subgraphs/learning/src/domain/scheduling/scheduler.js';

let e2e: E2E;
let instructor: Person;
let learner: Person;
let other: Person;
let admin: Person;
let db: pg.Client;

const DAY = 86_400_000;
/** The simulated "today": a fixed morning, so review days (which start at 04:00 UTC) are predictable. */
const T0 = new Date('2031-03-03T09:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

/** A GraphQL call at a simulated instant. */
function gqlAt<T = Record<string, any>>(
  when: Date,
  query: string,
  variables: Record<string, unknown>,
  who: Person,
): Promise<GraphQLResponse<T>> {
  return postGraphQL<T>(fetch, e2e.endpoint, query, variables, who.token, {
    'x-coursegraph-clock': when.toISOString(),
  });
}

async function must<T = any>(res: Promise<GraphQLResponse>, field: string): Promise<T> {
  const { body } = await res;
  if (body.data?.[field] == null) throw new Error(`${field} failed: ${JSON.stringify(body.errors)}`);
  return body.data[field] as T;
}

const CREATE_ITEM = `mutation($i: CreateItemInput!) { createItem(input: $i) { id type prompt publishedVersion } }`;
const START = `mutation($l: ID!) { startAttempt(lessonId: $l) { id number status deadline
  items { itemId type prompt choices { id text } entries { id text } left { id text } right { id text } clozeText blankIds } } }`;
const SAVE = `mutation($a: ID!, $item: ID!, $ans: AnswerInput!) { saveAnswer(attemptId: $a, itemId: $item, answer: $ans) { itemId answer } }`;
const SUBMIT = `mutation($a: ID!) { submitAttempt(attemptId: $a) { id status score passed submittedAt items { itemId score solution } } }`;
const QUEUE = `query($c: ID, $n: Int) { reviewQueue(courseId: $c, limit: $n) { dueCount newCount cards { id state due version front back reps lapses retrievability } } }`;
const REVIEW = `mutation($i: ReviewCardInput!) { reviewCard(input: $i) { retrievability card { id state due version reps lapses stability difficulty } } }`;
const VIEWER_PROGRESS = `query($c: ID!) { course(id: $c) { viewerEnrollment { status progress { completedLessonIds } } } }`;

/** Saves the right answer to every item of an attempt. */
async function answerAll(attempt: any, when: Date): Promise<void> {
  const order = attempt.items.find((i: any) => i.itemId === items.order);
  const entry = (t: string) => order.entries.find((e: any) => e.text === t).id;
  const answers: Record<string, Record<string, unknown>> = {
    [items.single!]: { choiceIds: ['a'] },
    [items.numeric!]: { number: 0.75 },
    [items.text!]: { text: 'numerator' },
    [items.order!]: { order: [entry('1/4'), entry('1/2'), entry('1')] },
  };
  for (const [item, ans] of Object.entries(answers))
    await must(gqlAt(when, SAVE, { a: attempt.id, item, ans }, learner), 'saveAnswer');
}

let courseId: string;
let articleId: string;
let quizLessonId: string;
let advancedLessonId: string;
const items: Record<string, string> = {};
const concepts: Record<string, string> = {};

beforeAll(async () => {
  e2e = await startE2E('learning', { env: { CLOCK_HEADER: 'true' } });
  [instructor, learner, other, admin] = await Promise.all([
    person(e2e, 'INSTRUCTOR'),
    person(e2e, 'LEARNER', 'quizzer'),
    person(e2e, 'LEARNER', 'other'),
    person(e2e, 'ADMIN'),
  ]);
  db = new pg.Client({ connectionString: contextDatabaseUrl('learning', e2e.database) });
  await db.connect();

  const gql = (q: string, v: Record<string, unknown>) => e2e.gql(q, v, instructor.token);
  courseId = (
    await must<{ id: string }>(
      gql(`mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }`, {
        i: { title: `Fractions ${Date.now()}`, category: 'programming', level: 'BEGINNER', language: 'en' },
      }),
      'createCourse',
    )
  ).id;
  const mod = await must<{ id: string }>(
    gql(`mutation($i: AddModuleInput!) { addModule(input: $i) { id } }`, { i: { courseId, title: 'Basics' } }),
    'addModule',
  );
  const lesson = async (title: string, kind: string) =>
    (
      await must<{ id: string }>(
        gql(`mutation($i: AddLessonInput!) { addLesson(input: $i) { id } }`, {
          i: { moduleId: mod.id, title, kind, body: `About ${title}.`, required: true },
        }),
        'addLesson',
      )
    ).id;
  articleId = await lesson('What a fraction is', 'ARTICLE');
  quizLessonId = await lesson('Fractions quiz', 'QUIZ');
  advancedLessonId = await lesson('Ratios', 'ARTICLE');

  // Learning hears of the draft (course.course.created) before anything is published.
  const first = await eventually('learning to know the draft course', async () => {
    const res = await gql(CREATE_ITEM, {
      i: {
        courseId,
        item: {
          type: 'SINGLE_CHOICE',
          prompt: 'Which fraction equals one half?',
          choices: [
            { id: 'a', text: '2/4' },
            { id: 'b', text: '2/3' },
            { id: 'c', text: '3/4' },
          ],
          correctChoiceIds: ['a'],
          explanation: '2/4 simplifies to 1/2.',
        },
        tags: ['core'],
      },
    });
    return errorCode(res) === 'NOT_FOUND' ? undefined : res;
  });
  items.single = first.body.data!.createItem.id;
}, 240_000);

afterAll(async () => {
  await db?.end();
  await e2e?.platform.stop();
});

describe('authoring before publication', () => {
  it('concepts form an acyclic graph: a cycle is refused, naming it, and changes nothing', async () => {
    const gql = (q: string, v: Record<string, unknown>) => e2e.gql(q, v, instructor.token);
    for (const name of ['Fractions', 'Ratios']) {
      concepts[name] = (
        await must<{ id: string }>(
          gql(`mutation($i: CreateConceptInput!) { createConcept(input: $i) { id } }`, { i: { courseId, name } }),
          'createConcept',
        )
      ).id;
    }
    const link = `mutation($c: ID!, $p: ID!) { addConceptPrerequisite(conceptId: $c, prerequisiteId: $p) { id prerequisites { id } } }`;
    const ok = await gql(link, { c: concepts.Ratios, p: concepts.Fractions });
    expect(ok.body.data?.addConceptPrerequisite.prerequisites).toEqual([{ id: concepts.Fractions }]);

    const cycle = await gql(link, { c: concepts.Fractions, p: concepts.Ratios });
    expect(errorCode(cycle)).toBe('BAD_USER_INPUT');
    expect(cycle.body.errors![0]!.message).toContain('would create a cycle: Ratios → Fractions → Ratios');
    const self = await gql(link, { c: concepts.Fractions, p: concepts.Fractions });
    expect(errorCode(self)).toBe('BAD_USER_INPUT');
    const edges = await db.query('select prerequisite_id, concept_id from concept_edges where course_id = $1', [
      courseId,
    ]);
    expect(edges.rows).toEqual([{ prerequisite_id: concepts.Fractions, concept_id: concepts.Ratios }]);
  });

  it('an item bank of several types, a quiz and notes, all drafts; strangers cannot author', async () => {
    const gql = (q: string, v: Record<string, unknown>, who = instructor) => e2e.gql(q, v, who.token);
    const add = async (name: string, item: Record<string, unknown>) => {
      items[name] = (
        await must<{ id: string }>(
          gql(CREATE_ITEM, { i: { courseId, item, tags: ['core'], conceptIds: [concepts.Fractions] } }),
          'createItem',
        )
      ).id;
    };
    await gql(`mutation($i: UpdateItemInput!) { updateItem(input: $i) { id } }`, {
      i: { id: items.single, conceptIds: [concepts.Fractions] },
    });
    await add('numeric', { type: 'NUMERIC', prompt: '3/4 as a decimal?', numericAnswer: 0.75, tolerance: 0.001 });
    await add('text', {
      type: 'SHORT_TEXT',
      prompt: 'The top number of a fraction is its…',
      acceptedAnswers: ['numerator'],
    });
    await add('order', {
      type: 'ORDERING',
      prompt: 'Smallest first',
      orderedEntries: [
        { id: 'q', text: '1/4' },
        { id: 'h', text: '1/2' },
        { id: 'w', text: '1' },
      ],
    });

    const stranger = await gql(
      CREATE_ITEM,
      { i: { courseId, item: { type: 'TRUE_FALSE', prompt: 'x', trueFalseAnswer: true } } },
      other,
    );
    expect(errorCode(stranger)).toBe('FORBIDDEN');
    const wrongShape = await gql(CREATE_ITEM, {
      i: { courseId, item: { type: 'TRUE_FALSE', prompt: 'x', trueFalseAnswer: true, numericAnswer: 1 } },
    });
    expect(errorCode(wrongShape)).toBe('BAD_USER_INPUT');
    expect(wrongShape.body.errors![0]!.extensions!.field).toBe('item.numericAnswer');

    await must(
      gql(
        `mutation($i: ConfigureQuizInput!) { configureQuiz(input: $i) { lessonId itemIds gradingPolicy passScore } }`,
        {
          i: {
            courseId,
            lessonId: quizLessonId,
            draw: { itemIds: [items.single, items.numeric, items.text, items.order] },
            timeLimitSeconds: 600,
            maxAttempts: 3,
            gradingPolicy: 'BEST',
            passScore: 75,
          },
        },
      ),
      'configureQuiz',
    );
    await must(
      gql(`mutation($i: CreateNoteInput!) { createNote(input: $i) { id } }`, {
        i: { courseId, kind: 'CLOZE', text: 'A {{c1::numerator}} sits over a {{c2::denominator}}.' },
      }),
      'createNote',
    );
    await must(
      gql(
        `mutation($c: ID!, $l: ID!, $ids: [ID!]!) { setLessonConcepts(courseId: $c, lessonId: $l, conceptIds: $ids) { id } }`,
        {
          c: courseId,
          l: articleId,
          ids: [concepts.Fractions],
        },
      ),
      'setLessonConcepts',
    );
    await must(
      gql(
        `mutation($c: ID!, $l: ID!, $ids: [ID!]!) { setLessonConcepts(courseId: $c, lessonId: $l, conceptIds: $ids) { id } }`,
        {
          c: courseId,
          l: advancedLessonId,
          ids: [concepts.Ratios],
        },
      ),
      'setLessonConcepts',
    );
    const bank = await gql(`query($c: ID!) { course(id: $c) { itemBank { totalCount } } }`, { c: courseId });
    expect(bank.body.data?.course.itemBank.totalCount).toBe(4);
  });

  it('publishing freezes the drafts: learners get the published version while new items are drafted', async () => {
    await must(
      e2e.gql(`mutation($c: ID!) { publishCourse(courseId: $c) { id } }`, { c: courseId }, instructor.token),
      'publishCourse',
    );
    await eventually('learning to publish the quiz', async () => {
      const rows = await db.query('select count(*)::int as n from published_items where course_id = $1', [courseId]);
      return rows.rows[0].n === 4 ? true : undefined;
    });
    // A draft added after publication is not in the published bank.
    const late = await must<{ id: string; publishedVersion: number | null }>(
      e2e.gql(
        CREATE_ITEM,
        { i: { courseId, item: { type: 'TRUE_FALSE', prompt: 'Is 1/2 > 1/3?', trueFalseAnswer: true } } },
        instructor.token,
      ),
      'createItem',
    );
    expect(late.publishedVersion).toBeNull();
    const published = await db.query('select item_id from published_items where course_id = $1', [courseId]);
    expect(published.rows.map((r) => r.item_id)).not.toContain(late.id);
  });
  it("another course's instructor cannot configure a quiz on this course's lesson", async () => {
    const rival = await person(e2e, 'INSTRUCTOR', 'rival');
    const theirs = await must<{ id: string }>(
      e2e.gql(
        `mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }`,
        { i: { title: `Rival ${Date.now()}`, category: 'programming', level: 'BEGINNER', language: 'en' } },
        rival.token,
      ),
      'createCourse',
    );
    const CONFIGURE = `mutation($i: ConfigureQuizInput!) { configureQuiz(input: $i) { lessonId } }`;
    const hijack = await eventually('learning to know the rival course', async () => {
      const res = await e2e.gql(
        CONFIGURE,
        { i: { courseId: theirs.id, lessonId: quizLessonId, draw: { pools: [{ tag: 'core', count: 1 }] } } },
        rival.token,
      );
      return errorCode(res) === 'NOT_FOUND' ? undefined : res;
    });
    expect(errorCode(hijack)).toBe('CONFLICT');
    const quizzes = await db.query('select course_id from quizzes where lesson_id = $1', [quizLessonId]);
    expect(quizzes.rows).toEqual([{ course_id: courseId }]);
  });
});

describe('a learner takes the quiz', () => {
  let attemptId: string;
  let view: any;

  it('cannot start before enrolling; after enrolling gets items without their answers, shuffled per attempt', async () => {
    const before = await gqlAt(T0, START, { l: quizLessonId }, learner);
    expect(errorCode(before)).toBe('FORBIDDEN');
    await must(e2e.gql(`mutation($c: ID!) { enrol(courseId: $c) { id } }`, { c: courseId }, learner.token), 'enrol');
    await eventually('learning to know the enrolment', async () => {
      const res = await db.query('select 1 from enrolments where user_id = $1 and course_id = $2 and active', [
        learner.userId,
        courseId,
      ]);
      return res.rowCount === 1 ? true : undefined;
    });
    view = await must(gqlAt(T0, START, { l: quizLessonId }, learner), 'startAttempt');
    attemptId = view.id;
    expect(view.items).toHaveLength(4);
    expect(new Date(view.deadline).getTime()).toBe(T0.getTime() + 600_000);
    const text = JSON.stringify(view);
    for (const secret of ['correctChoiceIds', 'acceptedAnswers', 'numericAnswer', 'numerator', '0.75', 'explanation'])
      expect(text).not.toContain(secret);
    // Reloading resumes the same attempt with the same order.
    const again = await must<any>(gqlAt(at(1000), START, { l: quizLessonId }, learner), 'startAttempt');
    expect(again).toEqual(view);
  });

  it('saves answers as it goes; an item not in the attempt is refused and nothing is saved', async () => {
    const save = (item: string, ans: Record<string, unknown>) =>
      gqlAt(at(60_000), SAVE, { a: attemptId, item, ans }, learner);
    const notInAttempt = await save('00000000-0000-7000-8000-000000000000', { trueFalse: true });
    expect(errorCode(notInAttempt)).toBe('BAD_USER_INPUT');
    expect(notInAttempt.body.errors![0]!.extensions!.field).toBe('itemId');
    const wrongShape = await save(items.numeric!, { text: '0.75' });
    expect(errorCode(wrongShape)).toBe('BAD_USER_INPUT');
    const saved0 = await db.query('select count(*)::int as n from attempt_answers where attempt_id = $1', [attemptId]);
    expect(saved0.rows[0].n).toBe(0);

    const order = view.items.find((i: any) => i.itemId === items.order);
    const byText = (t: string) => order.entries.find((e: any) => e.text === t).id;
    await must(save(items.single!, { choiceIds: ['a'] }), 'saveAnswer');
    await must(save(items.numeric!, { number: 0.7501 }), 'saveAnswer');
    await must(save(items.text!, { text: '  Numerator. ' }), 'saveAnswer');
    // A first, wrong order; then corrected: the last saved answer counts.
    await must(save(items.order!, { order: [byText('1'), byText('1/2'), byText('1/4')] }), 'saveAnswer');
    const fixed = await must<any>(
      save(items.order!, { order: [byText('1/4'), byText('1/2'), byText('1')] }),
      'saveAnswer',
    );
    expect(fixed.answer.order).toEqual([byText('1/4'), byText('1/2'), byText('1')]);
  });

  it('two submissions at once grade once; a resubmission returns the same grade', async () => {
    const [a, b] = await Promise.all([
      must<any>(gqlAt(at(120_000), SUBMIT, { a: attemptId }, learner), 'submitAttempt'),
      must<any>(gqlAt(at(120_000), SUBMIT, { a: attemptId }, learner), 'submitAttempt'),
    ]);
    expect(a.score).toBe(100);
    expect(b).toEqual(a);
    expect(a.passed).toBe(true);
    expect(a.items.every((i: any) => i.solution !== null && i.score === 1)).toBe(true);
    const later = await must<any>(gqlAt(at(DAY), SUBMIT, { a: attemptId }, learner), 'submitAttempt');
    expect(later).toEqual(a);
    const events = await db.query(
      `select subject, count(*)::int as n from outbox_events where subject like 'learning.quiz.%' and subject <> 'learning.quiz.published' group by subject order by subject`,
    );
    expect(events.rows).toEqual([
      { subject: 'learning.quiz.graded', n: 1 },
      { subject: 'learning.quiz.passed', n: 1 },
    ]);
  });

  it('passing counts the quiz lesson toward completion; it cannot be ticked off by hand', async () => {
    const progress = await eventually('enrollment to count the passed quiz', async () => {
      const res = await e2e.gql(VIEWER_PROGRESS, { c: courseId }, learner.token);
      const ids: string[] = res.body.data?.course?.viewerEnrollment?.progress?.completedLessonIds ?? [];
      return ids.includes(quizLessonId) ? ids : undefined;
    });
    expect(progress).toContain(quizLessonId);
    // Another enrolled learner, who has not passed, cannot mark the quiz lesson done.
    await must(e2e.gql(`mutation($c: ID!) { enrol(courseId: $c) { id } }`, { c: courseId }, other.token), 'enrol');
    const byHand = await e2e.gql(
      `mutation($c: ID!, $l: ID!) { completeLesson(courseId: $c, lessonId: $l) { id } }`,
      { c: courseId, l: quizLessonId },
      other.token,
    );
    expect(errorCode(byHand)).toBe('BAD_USER_INPUT');
    expect(byHand.body.errors![0]!.message).toContain('Pass the quiz');
    const theirs = await e2e.gql(VIEWER_PROGRESS, { c: courseId }, other.token);
    expect(theirs.body.data?.course?.viewerEnrollment?.progress?.completedLessonIds).toEqual([]);
  });

  it('a submission after the time limit is refused; the attempt is graded at its deadline with what was saved', async () => {
    const second = await must<any>(gqlAt(at(2 * DAY), START, { l: quizLessonId }, learner), 'startAttempt');
    expect(second.number).toBe(2);
    await must(
      gqlAt(at(2 * DAY + 1000), SAVE, { a: second.id, item: items.single, ans: { choiceIds: ['a'] } }, learner),
      'saveAnswer',
    );
    const late = await gqlAt(at(2 * DAY + 601_000), SUBMIT, { a: second.id }, learner);
    expect(errorCode(late)).toBe('CONFLICT');
    const lateSave = await gqlAt(
      at(2 * DAY + 602_000),
      SAVE,
      { a: second.id, item: items.text, ans: { text: 'numerator' } },
      learner,
    );
    expect(errorCode(lateSave)).toBe('CONFLICT');
    const closed = await must<any>(
      gqlAt(
        at(2 * DAY + 603_000),
        `query($a: ID!) { attempt(id: $a) { status score submittedAt } }`,
        { a: second.id },
        learner,
      ),
      'attempt',
    );
    expect(closed).toEqual({ status: 'SUBMITTED', score: 25, submittedAt: at(2 * DAY + 600_000).toISOString() });
    // BEST of 100 and 25.
    const grade = await must<any>(
      gqlAt(
        at(2 * DAY + 604_000),
        `query($c: ID!) { course(id: $c) { myGrades { grade quizzes { grade attempts passed } } } }`,
        { c: courseId },
        learner,
      ),
      'course',
    );
    expect(grade.myGrades).toEqual({ grade: 100, quizzes: [{ grade: 100, attempts: 2, passed: true }] });
  });

  it("another learner's attempt looks absent; the gradebook is the instructor's", async () => {
    const peek = await gqlAt(T0, `query($a: ID!) { attempt(id: $a) { id } }`, { a: attemptId }, other);
    expect(errorCode(peek)).toBe('NOT_FOUND');
    const book = `query($c: ID!) { course(id: $c) { gradebook { totalCount edges { node { learner { id } grade } } } } }`;
    const mine = await must<any>(e2e.gql(book, { c: courseId }, instructor.token), 'course');
    expect(mine.gradebook).toEqual({
      totalCount: 1,
      edges: [{ node: { learner: { id: learner.userId }, grade: 100 } }],
    });
    const theirs = await must<any>(e2e.gql(book, { c: courseId }, other.token), 'course');
    expect(theirs.gradebook).toBeNull();
  });

  it('instructors see item difficulty and discrimination and the score distribution; learners do not', async () => {
    const STATS = `query($c: ID!) { course(id: $c) { modules { lessons { id quiz { statistics {
      attempts distribution { count mean buckets { from count } } items { item { id } attempts difficulty discrimination } } } } } } }`;
    const quizOf = (res: any) => res.modules[0].lessons.find((l: any) => l.id === quizLessonId).quiz;
    const stats = quizOf(await must<any>(e2e.gql(STATS, { c: courseId }, instructor.token), 'course')).statistics;
    // Two attempts so far: 100 and 25 (only the single-choice item answered, and right).
    expect(stats.attempts).toBe(2);
    expect(stats.distribution.count).toBe(2);
    expect(stats.distribution.mean).toBe(62.5);
    expect(stats.distribution.buckets.filter((b: any) => b.count > 0)).toEqual([
      { from: 20, count: 1 },
      { from: 90, count: 1 },
    ]);
    const byItem = new Map(stats.items.map((i: any) => [i.item.id, i]));
    expect(byItem.get(items.single)).toMatchObject({ attempts: 2, difficulty: 1, discrimination: null });
    expect(byItem.get(items.numeric)).toMatchObject({ attempts: 2, difficulty: 0.5 });
    const asLearner = await must<any>(e2e.gql(STATS, { c: courseId }, learner.token), 'course');
    expect(quizOf(asLearner).statistics).toBeNull();
  });

  it('mastery rose from the answers, and recommendations respect prerequisites', async () => {
    const MASTERY = `query($c: ID!) { course(id: $c) { myMastery { concept { name } pKnown mastered observations }
      nextBestActivity { kind lesson { id } concept { name } } } }`;
    const before = await must<any>(gqlAt(at(3 * DAY), MASTERY, { c: courseId }, learner), 'course');
    const fractions = before.myMastery.find((m: any) => m.concept.name === 'Fractions');
    // Five right answers, then three unanswered at the second attempt's deadline: up, then down.
    expect(fractions).toMatchObject({ observations: 8, mastered: false });
    expect(fractions.pKnown).toBeGreaterThan(0.3);
    // Ratios needs Fractions: the Fractions material comes first, never the Ratios lesson.
    expect(before.nextBestActivity).toEqual({
      kind: 'STUDY_LESSON',
      lesson: { id: articleId },
      concept: { name: 'Fractions' },
    });

    // A third attempt, all right, masters Fractions; with its lesson done, Ratios is next.
    const third = await must<any>(gqlAt(at(3 * DAY), START, { l: quizLessonId }, learner), 'startAttempt');
    expect(third.number).toBe(3);
    await answerAll(third, at(3 * DAY + 1000));
    await must(gqlAt(at(3 * DAY + 2000), SUBMIT, { a: third.id }, learner), 'submitAttempt');
    await must(
      e2e.gql(
        `mutation($c: ID!, $l: ID!) { completeLesson(courseId: $c, lessonId: $l) { id } }`,
        { c: courseId, l: articleId },
        learner.token,
      ),
      'completeLesson',
    );
    const after = await eventually('learning to hear the lesson was completed', async () => {
      const res = await must<any>(gqlAt(at(3 * DAY + 3000), MASTERY, { c: courseId }, learner), 'course');
      return res.nextBestActivity.lesson?.id === articleId ? undefined : res;
    });
    expect(after.myMastery.find((m: any) => m.concept.name === 'Fractions').mastered).toBe(true);
    expect(after.nextBestActivity).toEqual({
      kind: 'STUDY_LESSON',
      lesson: { id: advancedLessonId },
      concept: { name: 'Ratios' },
    });
  });
});

describe('spaced repetition over simulated days', () => {
  it('the deck was filled on enrolment: one card per item and per cloze deletion, all new', async () => {
    const q = await must<any>(gqlAt(at(3 * DAY), QUEUE, { c: courseId, n: 50 }, learner), 'reviewQueue');
    expect(q.newCount).toBe(6);
    expect(q.dueCount).toBe(0);
    expect(q.cards.every((c: any) => c.state === 'NEW' && c.retrievability === null)).toBe(true);
    const cloze = q.cards.filter((c: any) => c.front.includes('sits over'));
    expect(cloze.map((c: any) => c.front).sort()).toEqual([
      'A [...] sits over a denominator.',
      'A numerator sits over a [...].',
    ]);
  });

  it('reviews move due dates as FSRS says; siblings are buried until the next day', async () => {
    const now = at(3 * DAY);
    const q = await must<any>(gqlAt(now, QUEUE, { c: courseId, n: 50 }, learner), 'reviewQueue');
    const card = q.cards[0];
    const res = await must<any>(
      gqlAt(now, REVIEW, { i: { cardId: card.id, rating: 'GOOD', version: card.version } }, learner),
      'reviewCard',
    );
    const expected = createScheduler().review(
      {
        state: 'NEW',
        due: now,
        stability: 0,
        difficulty: 0,
        elapsedDays: 0,
        scheduledDays: 0,
        learningSteps: 0,
        reps: 0,
        lapses: 0,
        lastReview: null,
      } satisfies CardState,
      'GOOD',
      now,
      undefined,
      card.id,
    ).card;
    expect(res.card.state).toBe(expected.state);
    expect(res.card.due).toBe(expected.due.toISOString());
    expect(res.card.stability).toBeCloseTo(expected.stability, 10);

    // Ten minutes later the learning step is due; a cloze sibling reviewed today buries the other.
    const cloze = q.cards.filter((c: any) => c.front.includes('sits over'));
    await must(
      gqlAt(now, REVIEW, { i: { cardId: cloze[0].id, rating: 'EASY', version: cloze[0].version } }, learner),
      'reviewCard',
    );
    const later = await must<any>(
      gqlAt(at(3 * DAY + 11 * 60_000), QUEUE, { c: courseId, n: 50 }, learner),
      'reviewQueue',
    );
    expect(later.cards.map((c: any) => c.id)).toContain(card.id);
    expect(later.cards.map((c: any) => c.id)).not.toContain(cloze[1].id);
    expect(later.dueCount).toBe(1);
    const tomorrow = await must<any>(gqlAt(at(4 * DAY), QUEUE, { c: courseId, n: 50 }, learner), 'reviewQueue');
    expect(tomorrow.cards.map((c: any) => c.id)).toContain(cloze[1].id);
  });

  it('the daily new-card limit holds, and what was introduced today counts against it', async () => {
    await must(
      gqlAt(at(4 * DAY), `mutation { updateReviewSettings(input: { newPerDay: 3 }) { newPerDay } }`, {}, learner),
      'updateReviewSettings',
    );
    const q = await must<any>(gqlAt(at(4 * DAY), QUEUE, { c: courseId, n: 50 }, learner), 'reviewQueue');
    expect(q.newCount).toBe(3);
    const fresh = q.cards.filter((c: any) => c.state === 'NEW');
    for (const c of fresh.slice(0, 2))
      await must(
        gqlAt(at(4 * DAY), REVIEW, { i: { cardId: c.id, rating: 'GOOD', version: c.version } }, learner),
        'reviewCard',
      );
    const after = await must<any>(gqlAt(at(4 * DAY + 1000), QUEUE, { c: courseId, n: 50 }, learner), 'reviewQueue');
    expect(after.newCount).toBe(1);
  });

  it('bad reviews are refused and change nothing: a rating out of range, a card of someone else, the same review twice at once', async () => {
    const now = at(5 * DAY);
    const q = await must<any>(gqlAt(now, QUEUE, { c: courseId, n: 50 }, learner), 'reviewQueue');
    const card = q.cards[0];
    const outOfRange = await gqlAt(
      now,
      REVIEW,
      { i: { cardId: card.id, rating: 'PERFECT', version: card.version } },
      learner,
    );
    expect(outOfRange.body.errors?.[0]?.extensions?.code).toMatch(/BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED/);
    const theirs = await gqlAt(now, REVIEW, { i: { cardId: card.id, rating: 'GOOD', version: card.version } }, other);
    expect(errorCode(theirs)).toBe('NOT_FOUND');
    const twice = await Promise.all([
      gqlAt(now, REVIEW, { i: { cardId: card.id, rating: 'GOOD', version: card.version } }, learner),
      gqlAt(now, REVIEW, { i: { cardId: card.id, rating: 'GOOD', version: card.version } }, learner),
    ]);
    expect(twice.map((r) => errorCode(r) ?? 'OK').sort()).toEqual(['CONFLICT', 'OK']);
    const row = await db.query('select reps, version from cards where id = $1', [card.id]);
    expect(row.rows[0]).toEqual({ reps: card.reps + 1, version: card.version + 1 });
    const logs = await db.query('select count(*)::int as n from review_logs where card_id = $1 and reviewed_at = $2', [
      card.id,
      now,
    ]);
    expect(logs.rows[0].n).toBe(1);
  });

  it('undo puts the last reviewed card back as it was', async () => {
    const card = await must<any>(
      gqlAt(at(5 * DAY + 1000), `mutation { undoLastReview { id state reps version } }`, {}, learner),
      'undoLastReview',
    );
    const logs = await db.query(
      'select count(*)::int as n from review_logs where card_id = $1 and undone_at is not null',
      [card.id],
    );
    expect(logs.rows[0].n).toBe(1);
    const q = await must<any>(gqlAt(at(5 * DAY + 2000), QUEUE, { c: courseId, n: 50 }, learner), 'reviewQueue');
    expect(q.cards.find((c: any) => c.id === card.id)?.reps).toBe(card.reps);
  });

  it('review settings are the learner’s own (and admins’)', async () => {
    const fields = 'reviewSettings { newPerDay reviewCount optimized }';
    const own = await must<any>(e2e.gql(`{ me { ${fields} } }`, {}, learner.token), 'me');
    expect(own.reviewSettings.newPerDay).toBe(3);
    expect(own.reviewSettings.optimized).toBe(false);
    const byId = `query($u: ID!) { user(id: $u) { ${fields} } }`;
    const asAdmin = await must<any>(e2e.gql(byId, { u: learner.userId }, admin.token), 'user');
    expect(asAdmin.reviewSettings).toEqual(own.reviewSettings);
    const stranger = await e2e.gql(byId, { u: learner.userId }, other.token);
    expect(stranger.body.data?.user?.reviewSettings ?? null).toBeNull();
  });

  it("after unenrolling, the learner's cards and attempts no longer show the course's material", async () => {
    const q = await must<any>(gqlAt(at(6 * DAY), QUEUE, { c: courseId, n: 1 }, learner), 'reviewQueue');
    const card = q.cards[0];
    const [attempt] = (
      await db.query('select id from attempts where user_id = $1 order by number limit 1', [learner.userId])
    ).rows;
    await must(
      e2e.gql(`mutation($c: ID!) { unenrol(courseId: $c) { id } }`, { c: courseId }, learner.token),
      'unenrol',
    );
    await eventually('learning to apply the unenrolment', async () => {
      const res = await db.query('select active from enrolments where user_id = $1 and course_id = $2', [
        learner.userId,
        courseId,
      ]);
      return res.rows[0]?.active === false ? true : undefined;
    });
    const cardRead = await gqlAt(
      at(6 * DAY),
      `query($id: ID!) { card(id: $id) { id front } }`,
      { id: card.id },
      learner,
    );
    expect(errorCode(cardRead)).toBe('FORBIDDEN');
    const attemptRead = await gqlAt(
      at(6 * DAY),
      `query($id: ID!) { attempt(id: $id) { id items { prompt } } }`,
      { id: attempt.id },
      learner,
    );
    expect(errorCode(attemptRead)).toBe('FORBIDDEN');
    const review = await gqlAt(
      at(6 * DAY),
      REVIEW,
      { i: { cardId: card.id, rating: 'GOOD', version: card.version } },
      learner,
    );
    expect(errorCode(review)).toBe('FORBIDDEN');
    const empty = await must<any>(gqlAt(at(6 * DAY), QUEUE, { c: courseId, n: 5 }, learner), 'reviewQueue');
    expect(empty).toEqual({ dueCount: 0, newCount: 0, cards: [] });
  });
});
