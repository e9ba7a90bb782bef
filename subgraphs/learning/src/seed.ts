/**
 * Demo learning material for `npm start`: for the demo courses the seed orchestrator hands over
 * (scripts/seed.mjs reads them through course's own role), a small concept graph (a prerequisite
 * chain), every lesson tagged with a concept, an item bank of mixed question types, a quiz for every
 * QUIZ lesson and a few flashcard notes. All are drafts, as an instructor would author them: the
 * course's publication events, waiting in course's outbox until the services start, freeze them as
 * the published version when learning applies them (events/course-projection.ts).
 *
 * Every row is checked by the rules authoring applies (`parseItemInput`, `parseQuizDraw`, the
 * concept graph's cycle check, the cloze syntax), and the stored item content is exactly what
 * `parseItemInput` returns. Idempotent: ids are derived from the course id, and a course that already
 * has learning material (seeded, or authored by its instructor) is left as it is; each course is
 * written in one transaction, so an interrupted run leaves none half-written.
 *
 *   node subgraphs/learning/dist/seed.js
 *   SEED_LEARNING_COURSES_FILE  JSON `{ "courses": [SeedCourse…] }` (the orchestrator writes it)
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { isUuid, refuseInProduction } from '@coursegraph/service-kit';
import { createDb, type PrismaClient } from './data/db.js';
import type { Prisma } from './generated/prisma/client.js';
import { parseItemInput, ITEM_TYPES, type ItemContent, type ItemType } from './domain/assessment/item-content.js';
import { drawItems, parseQuizDraw, type QuizDraw } from './domain/assessment/quiz-draw.js';
import { GRADING_POLICIES, parseGradingPolicy, type GradingPolicy } from './domain/assessment/grading-policy.js';
import { assertNoCycle, type ConceptEdge } from './domain/mastery/concept-graph.js';
import { clozeOrdinals } from './domain/cloze.js';

/** A published lesson of a demo course, as the orchestrator hands it. */
export interface SeedLesson {
  lessonId: string;
  kind: 'VIDEO' | 'ARTICLE' | 'QUIZ';
  title: string;
  /** Course-wide, from 0 (modules in order, then lessons), as course's events number lessons. */
  position: number;
  moduleTitle: string;
}

/** A demo course with its published lessons. */
export interface SeedCourse {
  courseId: string;
  instructorId: string;
  title: string;
  lessons: SeedLesson[];
}

const KINDS = ['VIDEO', 'ARTICLE', 'QUIZ'] as const;

/** Checks the orchestrator's file (`{ courses: [...] }`); throws naming the first bad field, before anything is written. */
export function parseSeedCourses(input: unknown): SeedCourse[] {
  const fail = (where: string, what: string): never => {
    throw new Error(`seed learning: ${where} ${what}`);
  };
  const obj = (value: unknown, where: string) =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : fail(where, 'must be an object');
  const str = (value: unknown, where: string, max = 500) =>
    typeof value === 'string' && value.trim() !== '' && value.length <= max
      ? value
      : fail(where, `must be a non-empty string of at most ${max} characters`);
  const id = (value: unknown, where: string) =>
    typeof value === 'string' && isUuid(value) ? value : fail(where, 'must be a UUID');
  const root = obj(input, 'the file');
  if (!Array.isArray(root.courses)) fail('courses', 'must be a list');
  const seen = new Set<string>();
  return (root.courses as unknown[]).map((raw, i) => {
    const c = obj(raw, `courses[${i}]`);
    const courseId = id(c.courseId, `courses[${i}].courseId`);
    if (seen.has(courseId)) fail(`courses[${i}].courseId`, 'is listed twice');
    seen.add(courseId);
    if (!Array.isArray(c.lessons) || c.lessons.length === 0) fail(`courses[${i}].lessons`, 'must be a non-empty list');
    const lessonIds = new Set<string>();
    const lessons = (c.lessons as unknown[]).map((rawLesson, j) => {
      const where = `courses[${i}].lessons[${j}]`;
      const l = obj(rawLesson, where);
      const lessonId = id(l.lessonId, `${where}.lessonId`);
      if (lessonIds.has(lessonId)) fail(`${where}.lessonId`, 'is listed twice');
      lessonIds.add(lessonId);
      if (!KINDS.includes(l.kind as SeedLesson['kind'])) fail(`${where}.kind`, `must be one of ${KINDS.join(', ')}`);
      if (!Number.isInteger(l.position) || (l.position as number) < 0)
        fail(`${where}.position`, 'must be a whole number');
      return {
        lessonId,
        kind: l.kind as SeedLesson['kind'],
        title: str(l.title, `${where}.title`),
        position: l.position as number,
        moduleTitle: str(l.moduleTitle, `${where}.moduleTitle`),
      };
    });
    return {
      courseId,
      instructorId: id(c.instructorId, `courses[${i}].instructorId`),
      title: str(c.title, `courses[${i}].title`),
      lessons: lessons.sort((a, b) => a.position - b.position),
    };
  });
}

/** A stable UUID (version 5 layout, from SHA-1) for the `index`-th `what` of a course: a rerun derives the same ids. */
export function seedId(courseId: string, what: string, index: number): string {
  const h = createHash('sha1').update(`coursegraph-demo:learning:${courseId}:${what}:${index}`).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A deterministic number from a string, for choices that must vary between courses and lessons. */
const hashOf = (s: string): number => createHash('sha1').update(s).digest().readUInt32BE(0);

/** Titles as text for prompts: braces and "::" would read as blank or cloze markers. */
const clean = (s: string, max = 200): string =>
  s.replace(/[{}]/g, '').replace(/:{2,}/g, ':').replace(/\s+/g, ' ').trim().slice(0, max).trim();

/** Everything learning stores for one course, checked by authoring's rules. */
export interface CoursePlan {
  courseId: string;
  concepts: { id: string; courseId: string; name: string; description: string }[];
  edges: { prerequisiteId: string; conceptId: string; courseId: string }[];
  lessonConcepts: { lessonId: string; conceptId: string; courseId: string }[];
  items: { id: string; courseId: string; type: ItemType; content: ItemContent; tags: string[]; conceptIds: string[] }[];
  quizzes: {
    lessonId: string;
    courseId: string;
    draw: QuizDraw;
    timeLimitSeconds: number | null;
    maxAttempts: number | null;
    gradingPolicy: GradingPolicy;
    passScore: number;
    completionRequiresPass: boolean;
  }[];
  notes: {
    id: string;
    courseId: string;
    kind: 'BASIC' | 'CLOZE';
    front: string;
    back: string;
    text: string;
    conceptIds: string[];
  }[];
}

/** The pool every seeded item is in; quizzes that draw at random draw from it. */
export const SEED_POOL_TAG = 'quiz-pool';
const partTag = (concept: number) => `part-${concept + 1}`;
const FALLBACK_CONCEPTS = ['Foundations', 'Putting it into practice'];
const DISTRACTORS = ['Medieval shipbuilding', 'Tax law of the 1800s', 'Competitive knitting'];
const TAG = /^[\p{L}\p{N}_-][\p{L}\p{N} _-]{0,39}$/u;

/** The learning material of one demo course: the same plan for the same course on every machine. */
export function planCourse(course: SeedCourse): CoursePlan {
  const { courseId } = course;
  const title = clean(course.title);
  const lessons = [...course.lessons].sort((a, b) => a.position - b.position);
  const h = hashOf(courseId);

  // Concepts: the course's parts in order (its distinct module titles), 2 to 4 of them, in a chain.
  const names: string[] = [];
  for (const l of lessons) {
    const name = clean(l.moduleTitle, 120);
    if (name !== '' && !names.includes(name) && names.length < 4) names.push(name);
  }
  for (const fallback of FALLBACK_CONCEPTS) if (names.length < 2 && !names.includes(fallback)) names.push(fallback);
  const concepts = names.map((name, i) => ({
    id: seedId(courseId, 'concept', i),
    courseId,
    name,
    description: `What the part “${name}” of ${title} teaches.`.slice(0, 2000),
  }));
  const edges: CoursePlan['edges'] = [];
  const graph: ConceptEdge[] = [];
  for (let i = 1; i < concepts.length; i++) {
    const edge = { from: concepts[i - 1]!.id, to: concepts[i]!.id };
    assertNoCycle(graph, edge, new Map(concepts.map((c) => [c.id, c.name])));
    graph.push(edge);
    edges.push({ prerequisiteId: edge.from, conceptId: edge.to, courseId });
  }

  // A lesson teaches its module's concept; lessons of a module past the fourth (or of a course with
  // one module) go by their place in the course, which keeps the chain's order.
  const conceptOf = new Map<string, number>();
  lessons.forEach((l, rank) => {
    const byModule = names.indexOf(clean(l.moduleTitle, 120));
    conceptOf.set(
      l.lessonId,
      byModule >= 0 ? byModule : Math.min(names.length - 1, Math.floor((rank * names.length) / lessons.length)),
    );
  });
  const lessonConcepts = lessons.map((l) => ({
    lessonId: l.lessonId,
    conceptId: concepts[conceptOf.get(l.lessonId)!]!.id,
    courseId,
  }));
  // A part's lessons, its quizzes last: questions and notes name what is taught, not the quiz on it.
  const lessonsOf = (c: number) => {
    const all = lessons.filter((l) => conceptOf.get(l.lessonId) === c);
    return [...all.filter((l) => l.kind !== 'QUIZ'), ...all.filter((l) => l.kind === 'QUIZ')];
  };

  // Items: 6 to 10, cycling through the eight types from a course-specific start (so at least six types).
  const count = 6 + (h % 5);
  const start = (h >>> 8) % ITEM_TYPES.length;
  const items: CoursePlan['items'] = [];
  for (let i = 0; i < count; i++) {
    const type = ITEM_TYPES[(start + i) % ITEM_TYPES.length]!;
    const c = i % names.length;
    const own = lessonsOf(c).filter((l) => l.kind !== 'QUIZ');
    const pool = own.length > 0 ? own : lessonsOf(c).length > 0 ? lessonsOf(c) : lessons;
    const lesson = pool[Math.floor(i / names.length) % pool.length]!;
    const { input, about } = itemInput(type, {
      title,
      names,
      c,
      lesson: clean(lesson.title),
      lessons,
      partLessons: lessonsOf,
      variant: h >>> (i % 24),
      // The types come round again past eight items: the second time asks another question.
      again: i >= ITEM_TYPES.length,
    });
    const content = parseItemInput(input, `items[${i}]`);
    const tags = [SEED_POOL_TAG, ...new Set(about.map(partTag))];
    if (!tags.every((t) => TAG.test(t))) throw new Error(`seed learning: a tag of item ${i} breaks the tag rule`);
    items.push({
      id: seedId(courseId, 'item', i),
      courseId,
      type: content.type,
      content,
      tags,
      conceptIds: [...new Set(about)].map((k) => concepts[k]!.id),
    });
  }

  // A quiz for every QUIZ lesson: a fixed list of what was taught so far, or a draw from the pools.
  const bank = items.map((it) => ({ id: it.id, tags: it.tags }));
  const quizzes = lessons
    .filter((l) => l.kind === 'QUIZ')
    .map((l) => {
      const q = hashOf(l.lessonId);
      const at = conceptOf.get(l.lessonId)!;
      let drawInput: unknown;
      if (q % 2 === 0) {
        const taught = items.filter((it) => it.conceptIds.every((id) => concepts.findIndex((c) => c.id === id) <= at));
        const rest = items.filter((it) => !taught.includes(it));
        drawInput = {
          itemIds: [...taught, ...rest].slice(0, Math.max(3, Math.min(5, taught.length))).map((it) => it.id),
        };
      } else {
        const part = items.filter((it) => it.tags.includes(partTag(at))).length;
        drawInput = {
          pools:
            part > 0
              ? [
                  { tag: partTag(at), count: 1 },
                  { tag: SEED_POOL_TAG, count: Math.min(4, items.length - 1) },
                ]
              : [{ tag: SEED_POOL_TAG, count: Math.min(5, items.length) }],
        };
      }
      const draw = parseQuizDraw(drawInput, 'draw');
      drawItems(draw, bank, l.lessonId); // refuses a draw the bank cannot fill, as configureQuiz does
      return {
        lessonId: l.lessonId,
        courseId,
        draw,
        timeLimitSeconds: [null, 600, 900][(q >>> 1) % 3] ?? null,
        maxAttempts: [null, 3, 5][(q >>> 3) % 3] ?? null,
        gradingPolicy: parseGradingPolicy(GRADING_POLICIES[(q >>> 5) % GRADING_POLICIES.length]),
        passScore: 60,
        completionRequiresPass: true,
      };
    });

  // Notes: 3 to 6, BASIC and CLOZE in turn.
  const notes: CoursePlan['notes'] = Array.from({ length: 3 + ((h >>> 4) % 4) }, (_, k) => {
    const c = k % names.length;
    const next = c + 1 < names.length ? c + 1 : c - 1;
    const [first, second] = c < next ? [c, next] : [next, c];
    const part = lessonsOf(c);
    const titles = [...new Set(part.map((l) => clean(l.title)))].slice(0, 3);
    const named = titles.map((t) => `“${t}”`);
    const note =
      k % 2 === 0
        ? {
            kind: 'BASIC' as const,
            front:
              c > 0 && k % 4 === 2
                ? `What should you master before “${names[c]}” in ${title}?`
                : `What does the part “${names[c]}” of ${title} cover?`,
            back:
              c > 0 && k % 4 === 2
                ? `“${names[c - 1]}”: it is the prerequisite of “${names[c]}”.`
                : named.length > 1
                  ? `Lessons such as ${named.slice(0, -1).join(', ')} and ${named.at(-1)}.`
                  : `The lesson “${clean((part[0] ?? lessons[0]!).title)}”.`,
            text: '',
            about: c > 0 && k % 4 === 2 ? [c - 1, c] : [c],
          }
        : {
            kind: 'CLOZE' as const,
            front: '',
            back: '',
            text:
              k % 4 === 1
                ? `In ${title}, {{c1::${names[first]}}} comes before {{c2::${names[second]}}}.`
                : `The lesson “${clean((part[0] ?? lessons[0]!).title)}” belongs to the part {{c1::${names[c]}}}.`,
            about: k % 4 === 1 ? [first, second] : [c],
          };
    checkNote(note, k);
    return {
      id: seedId(courseId, 'note', k),
      courseId,
      kind: note.kind,
      front: note.front,
      back: note.back,
      text: note.text,
      conceptIds: note.about.map((i) => concepts[i]!.id),
    };
  });

  return { courseId, concepts, edges, lessonConcepts, items, quizzes, notes };
}

/** createNote's rules: BASIC has front and back, CLOZE has text with at least one deletion; at most 4000 characters. */
function checkNote(note: { kind: 'BASIC' | 'CLOZE'; front: string; back: string; text: string }, k: number): void {
  const fields = note.kind === 'BASIC' ? [note.front, note.back] : [note.text];
  if (
    fields.some((f) => f.trim() === '' || f.length > 4000) ||
    (note.kind === 'CLOZE' && clozeOrdinals(note.text).length === 0)
  )
    throw new Error(`seed learning: note ${k} (${note.kind}) breaks the note rules`);
}

interface ItemContext {
  title: string;
  names: string[];
  /** The concept the item is about (index into names). */
  c: number;
  lesson: string;
  lessons: SeedLesson[];
  /** The lessons of a concept, quizzes last. */
  partLessons: (concept: number) => SeedLesson[];
  variant: number;
  /** The course has an item of this type already: ask another question. */
  again: boolean;
}

/** An `ItemInput` of `type`, as an instructor would type it, and the concepts (indexes) it is about. */
function itemInput(type: ItemType, x: ItemContext): { input: Record<string, unknown>; about: number[] } {
  const { title, names, c, lesson } = x;
  const name = names[c]!;
  const next = c + 1 < names.length ? c + 1 : c - 1;
  const [first, second] = c < next ? [c, next] : [next, c];
  const all = names.map((_, i) => i);
  const last = names.length - 1;
  const others = DISTRACTORS.filter((d) => !names.includes(d));
  switch (type) {
    case 'SINGLE_CHOICE':
      if (x.again)
        return {
          input: {
            type,
            prompt: `Which part of ${title} does the lesson “${lesson}” belong to?`,
            choices: [...names, others[0]!].map((text, k) => ({ id: `choice${k + 1}`, text })),
            correctChoiceIds: [`choice${c + 1}`],
          },
          about: [c],
        };
      return {
        input: {
          type,
          prompt: `Which statement best describes the lesson “${lesson}” in ${title}?`,
          explanation: `“${lesson}” is part of “${name}”.`,
          choices: [
            { id: 'a', text: `It works on “${name}” and builds on what came before it.` },
            { id: 'b', text: `It is an optional appendix unrelated to “${name}”.` },
            { id: 'c', text: 'It only repeats the course description.' },
            { id: 'd', text: 'It covers material meant for after the whole course.' },
          ],
          correctChoiceIds: ['a'],
        },
        about: [c],
      };
    case 'MULTIPLE_CHOICE': {
      if (x.again)
        return {
          input: {
            type,
            prompt: `Which of these come before “${names[last]}” in ${title}? Choose every one that applies.`,
            points: 2,
            choices: [...names, others[0]!].map((text, k) => ({ id: `choice${k + 1}`, text })),
            correctChoiceIds: names.slice(0, last).map((_, k) => `choice${k + 1}`),
          },
          about: all,
        };
      const taught = names.slice(0, 3);
      return {
        input: {
          type,
          prompt: `Which of these are parts of ${title}? Choose every one that applies.`,
          points: 2,
          choices: [
            ...taught.map((text, i) => ({ id: `part${i + 1}`, text })),
            ...others.slice(0, 2).map((text, i) => ({ id: `other${i + 1}`, text })),
          ],
          correctChoiceIds: taught.map((_, i) => `part${i + 1}`),
        },
        about: taught.map((_, i) => i),
      };
    }
    case 'TRUE_FALSE': {
      const truthful = x.variant % 2 === 0;
      if (x.again)
        return {
          input: {
            type,
            prompt: `“${truthful ? name : others[1]!}” is one of the parts of ${title}.`,
            trueFalseAnswer: truthful,
          },
          about: [c],
        };
      return {
        input: {
          type,
          prompt: truthful
            ? `In ${title}, “${names[first]}” comes before “${names[second]}”.`
            : `In ${title}, “${names[second]}” must be mastered before “${names[first]}”.`,
          explanation: `“${names[first]}” is a prerequisite of “${names[second]}”.`,
          trueFalseAnswer: truthful,
        },
        about: [first, second],
      };
    }
    case 'NUMERIC':
      if (x.again)
        return {
          input: {
            type,
            prompt: `Into how many parts does ${title} divide what it teaches?`,
            explanation: names.join(', '),
            numericAnswer: names.length,
          },
          about: all,
        };
      return {
        input: {
          type,
          prompt: `How many lessons does ${title} have in all?`,
          numericAnswer: x.lessons.length,
          tolerance: 0,
        },
        about: [c],
      };
    case 'SHORT_TEXT':
      if (x.again)
        return {
          input: { type, prompt: `Which part of ${title} comes last? Type its name.`, acceptedAnswers: [names[last]] },
          about: [last],
        };
      return {
        input: {
          type,
          prompt:
            c === 0
              ? `Which part of ${title} comes first? Type its name.`
              : `Which part of ${title} comes right after “${names[c - 1]}”? Type its name.`,
          acceptedAnswers: [name],
        },
        about: [c],
      };
    case 'ORDERING': {
      // Again: the lessons of one part, when it has two differently named ones.
      const steps = [
        ...new Set(
          x
            .partLessons(c)
            .sort((a, b) => a.position - b.position)
            .map((l) => clean(l.title)),
        ),
      ];
      if (x.again && steps.length >= 2)
        return {
          input: {
            type,
            prompt: `Put these lessons of “${name}” in the order ${title} teaches them.`,
            orderedEntries: steps.slice(0, 5).map((text, k) => ({ id: `step${k + 1}`, text })),
          },
          about: [c],
        };
      // Again, when the part has no two differently named lessons: the parts, last first, so the
      // second ordering item never repeats the first.
      if (x.again)
        return {
          input: {
            type,
            prompt: `Put the parts of ${title} from the last the course teaches to the first.`,
            points: 2,
            orderedEntries: [...names].reverse().map((text, i) => ({ id: `step${i + 1}`, text })),
          },
          about: all,
        };
      return {
        input: {
          type,
          prompt: `Put the parts of ${title} in the order the course teaches them.`,
          points: 2,
          orderedEntries: names.map((text, i) => ({ id: `step${i + 1}`, text })),
        },
        about: all,
      };
    }
    case 'MATCHING': {
      // One lesson per part, each title used once (matching is one-to-one); by place in the course otherwise.
      const used = new Set<string>();
      const picks = names.map((_, k) => {
        const l = x.partLessons(k).find((le) => !used.has(clean(le.title)));
        if (l) used.add(clean(l.title));
        return l ? clean(l.title) : null;
      });
      const byLesson = !x.again && picks.every((p) => p !== null);
      if (x.again)
        return {
          input: {
            type,
            prompt: `Match each place in ${title} with the part taught there.`,
            points: 2,
            pairs: names.map((part, k) => ({ id: `place${k + 1}`, left: `Part ${k + 1}`, right: part })),
          },
          about: all,
        };
      return {
        input: {
          type,
          prompt: byLesson
            ? `Match each lesson of ${title} with the part that teaches it.`
            : `Match each part of ${title} with its place in the course.`,
          points: 2,
          pairs: names.map((part, k) => ({
            id: `pair${k + 1}`,
            left: byLesson ? picks[k]! : part,
            right: byLesson ? part : `Part ${k + 1}`,
          })),
        },
        about: all,
      };
    }
    case 'CLOZE':
      if (x.again)
        return {
          input: {
            type,
            prompt: 'Fill in the blank.',
            clozeText: `The lesson “${lesson}” belongs to the part {{part}} of ${title}.`,
            blanks: [{ id: 'part', acceptedAnswers: [name] }],
          },
          about: [c],
        };
      return {
        input: {
          type,
          prompt: 'Fill in the blanks.',
          clozeText: `In ${title}, {{first}} is studied before {{second}}.`,
          blanks: [
            { id: 'first', acceptedAnswers: [names[first]] },
            { id: 'second', acceptedAnswers: [names[second]] },
          ],
        },
        about: [first, second],
      };
  }
}

/** What one run wrote. */
export interface SeedLearningResult {
  /** Courses given material now. */
  seeded: number;
  /** Courses that had learning material already (an earlier run, or their instructor's). */
  skipped: number;
  concepts: number;
  items: number;
  quizzes: number;
  notes: number;
}

/** Writes the plan of every course that has no learning material yet, one transaction per course. */
export async function seedLearning(
  databaseUrl: string,
  courses: SeedCourse[],
  log: (line: string) => void = console.log,
): Promise<SeedLearningResult> {
  // Every plan is built (and checked) before anything is written: bad input changes nothing.
  const plans = courses.map(planCourse);
  const db = createDb(databaseUrl, 2);
  const result: SeedLearningResult = { seeded: 0, skipped: 0, concepts: 0, items: 0, quizzes: 0, notes: 0 };
  try {
    for (const plan of plans) {
      if (await writePlan(db, plan)) {
        result.seeded++;
        result.concepts += plan.concepts.length;
        result.items += plan.items.length;
        result.quizzes += plan.quizzes.length;
        result.notes += plan.notes.length;
      } else result.skipped++;
    }
    // Drafts reach learners with a publication learning applies after them. On a fresh platform the
    // course seed's publications wait in course's outbox, so that is the next one; say so when not.
    const seededIds = plans.map((p) => p.courseId);
    const late = await db.$queryRaw<{ n: number }[]>`
      select count(*)::int as n from courses c
       where c.id = any(${seededIds}::uuid[]) and c.published_version > 0
         and not exists (select 1 from published_items p where p.course_id = c.id and p.version = c.published_version)`;
    if ((late[0]?.n ?? 0) > 0)
      log(
        `seed learning: ${late[0]!.n} course(s) were published in learning before their material was seeded; it reaches learners with their next publication`,
      );
    log(
      `seed learning: ${plans.length} courses (${result.seeded} given material now: ${result.concepts} concepts, ${result.items} items, ${result.quizzes} quizzes, ${result.notes} notes; ${result.skipped} had it already)`,
    );
    return result;
  } finally {
    await db.$disconnect();
  }
}

/** One course in one transaction; false (writing nothing) when it has learning material already. */
async function writePlan(db: PrismaClient, plan: CoursePlan): Promise<boolean> {
  const courseId = plan.courseId;
  return db.$transaction(async (tx) => {
    // Serialises two seeds of one course; a second finds the material and leaves.
    await tx.$executeRaw`select pg_advisory_xact_lock(hashtext(${`learning seed ${courseId}`}))`;
    // Any material at all, deleted drafts included: the instructor's own work is never mixed with demo rows.
    const existing =
      (await tx.concept.count({ where: { courseId } })) +
      (await tx.item.count({ where: { courseId } })) +
      (await tx.quiz.count({ where: { courseId } })) +
      (await tx.note.count({ where: { courseId } }));
    if (existing > 0) return false;
    await tx.concept.createMany({ data: plan.concepts, skipDuplicates: true });
    await tx.conceptEdge.createMany({ data: plan.edges, skipDuplicates: true });
    await tx.lessonConcept.createMany({ data: plan.lessonConcepts, skipDuplicates: true });
    await tx.item.createMany({
      data: plan.items.map((it) => ({ ...it, content: it.content as unknown as Prisma.InputJsonValue })),
      skipDuplicates: true,
    });
    await tx.quiz.createMany({
      data: plan.quizzes.map((q) => ({ ...q, draw: q.draw as unknown as Prisma.InputJsonValue })),
      skipDuplicates: true,
    });
    await tx.note.createMany({ data: plan.notes, skipDuplicates: true });
    return true;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  refuseInProduction('the learning demo seed');
  const file = process.env.SEED_LEARNING_COURSES_FILE;
  if (!file) {
    console.error(
      'seed learning: SEED_LEARNING_COURSES_FILE is not set; run it through `node scripts/seed.mjs catalog`',
    );
    process.exit(1);
  }
  const url = process.env.LEARNING_DATABASE_URL ?? 'postgres://cg_learning:cg_learning_dev@127.0.0.1:5432/coursegraph';
  const started = Date.now();
  await seedLearning(url, parseSeedCourses(JSON.parse(fs.readFileSync(file, 'utf8'))));
  console.log(`seed learning: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
