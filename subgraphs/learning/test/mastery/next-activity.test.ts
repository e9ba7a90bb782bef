import { describe, expect, it } from 'vitest';
import { randomFromSeed, randomInt } from '../../src/domain/assessment/seeded-random.js';
import { MASTERY_THRESHOLD } from '../../src/domain/mastery/bkt.js';
import type { ConceptEdge } from '../../src/domain/mastery/concept-graph.js';
import {
  nextBestActivity,
  type ActivityLesson,
  type NextActivityInput,
} from '../../src/domain/mastery/next-activity.js';

const now = new Date('2026-12-07T10:00:00Z');
const concepts = [
  { id: 'a', title: 'Variables' },
  { id: 'b', title: 'Loops' },
  { id: 'c', title: 'Functions' },
];
// a → b → c: variables before loops before functions.
const edges: ConceptEdge[] = [
  { from: 'a', to: 'b' },
  { from: 'b', to: 'c' },
];

function lesson(
  lessonId: string,
  kind: ActivityLesson['kind'],
  position: number,
  conceptIds: string[],
  done: Partial<ActivityLesson> = {},
): ActivityLesson {
  return { lessonId, kind, position, conceptIds, completed: false, ...done };
}

function input(over: Partial<NextActivityInput>): NextActivityInput {
  return { now, concepts, edges, mastery: new Map(), dueCardCount: 0, lessons: [], ...over };
}

describe('nextBestActivity rules', () => {
  it('due cards come first, whenever any is due', () => {
    const lessons = [lesson('l1', 'ARTICLE', 1, ['a'])];
    expect(nextBestActivity(input({ lessons, dueCardCount: 1 }))).toEqual({ kind: 'REVIEW_CARDS', dueCount: 1 });
    expect(nextBestActivity(input({ lessons, dueCardCount: 0 })).kind).toBe('STUDY_LESSON');
  });

  it('studies the first not-completed material of a frontier concept, by position', () => {
    const lessons = [
      lesson('late', 'VIDEO', 5, ['a']),
      lesson('early', 'ARTICLE', 2, ['a']),
      lesson('done', 'ARTICLE', 1, ['a'], { completed: true }),
    ];
    expect(nextBestActivity(input({ lessons }))).toMatchObject({
      kind: 'STUDY_LESSON',
      lessonId: 'early',
      conceptId: 'a',
    });
  });

  it('takes the quiz once the material before it is done, and not before', () => {
    const quiz = lesson('quiz', 'QUIZ', 3, ['a']);
    const material = lesson('read', 'ARTICLE', 1, ['a']);
    expect(nextBestActivity(input({ lessons: [quiz, material] }))).toMatchObject({ lessonId: 'read' });
    expect(nextBestActivity(input({ lessons: [quiz, { ...material, completed: true }] }))).toMatchObject({
      kind: 'TAKE_QUIZ',
      lessonId: 'quiz',
      conceptId: 'a',
    });
  });

  it('a passed quiz is not recommended again; a failed one is', () => {
    const lessons = [lesson('quiz', 'QUIZ', 1, ['a'], { completed: true, quizPassed: false })];
    expect(nextBestActivity(input({ lessons }))).toMatchObject({ kind: 'TAKE_QUIZ', lessonId: 'quiz' });
    const passed = [{ ...lessons[0]!, quizPassed: true }];
    expect(nextBestActivity(input({ lessons: passed })).kind).toBe('NONE');
  });

  it('moves on to the next concept once its prerequisite is mastered', () => {
    const lessons = [lesson('la', 'ARTICLE', 1, ['a']), lesson('lb', 'ARTICLE', 2, ['b'])];
    expect(nextBestActivity(input({ lessons }))).toMatchObject({ lessonId: 'la' });
    const mastery = new Map([['a', MASTERY_THRESHOLD]]);
    expect(nextBestActivity(input({ lessons, mastery }))).toMatchObject({ lessonId: 'lb', conceptId: 'b' });
  });

  it('never recommends a lesson tagged with any concept whose prerequisites are unmet, even an earlier one', () => {
    const lessons = [lesson('mixed', 'ARTICLE', 1, ['a', 'b']), lesson('la', 'VIDEO', 2, ['a'])];
    expect(nextBestActivity(input({ lessons }))).toMatchObject({ lessonId: 'la', conceptId: 'a' });
  });

  it('counts indirect prerequisites: c waits for a even when b is mastered', () => {
    const lessons = [lesson('lc', 'ARTICLE', 1, ['c']), lesson('la', 'ARTICLE', 2, ['a'])];
    const mastery = new Map([['b', 0.99]]);
    expect(nextBestActivity(input({ lessons, mastery }))).toMatchObject({ lessonId: 'la' });
  });

  it("names the lesson's frontier concept with the lowest mastery", () => {
    const flat = concepts.map((c) => c.id);
    const lessons = [lesson('l', 'ARTICLE', 1, flat)];
    const mastery = new Map([
      ['a', 0.6],
      ['b', 0.2],
      ['c', 0.4],
    ]);
    const out = nextBestActivity(input({ edges: [], lessons, mastery }));
    expect(out).toMatchObject({ kind: 'STUDY_LESSON', conceptId: 'b' });
    expect(out.kind === 'STUDY_LESSON' && out.reason).toBe(
      'Learn Loops (mastery 20%), whose prerequisites you have mastered.',
    );
  });

  it('skips lessons that only teach mastered concepts', () => {
    const lessons = [lesson('known', 'ARTICLE', 1, ['a']), lesson('lb', 'ARTICLE', 2, ['b'])];
    const mastery = new Map([['a', 0.97]]);
    expect(nextBestActivity(input({ lessons, mastery }))).toMatchObject({ lessonId: 'lb' });
  });

  it('untagged lessons come in course order once no tagged candidate remains', () => {
    const lessons = [
      lesson('intro', 'VIDEO', 3, []),
      lesson('welcome', 'ARTICLE', 0, [], { completed: true }),
      lesson('la', 'ARTICLE', 5, ['a']),
      lesson('wrap-up', 'QUIZ', 9, []),
    ];
    expect(nextBestActivity(input({ lessons }))).toMatchObject({ lessonId: 'la' });
    const laDone = lessons.map((l) => (l.lessonId === 'la' ? { ...l, completed: true } : l));
    expect(nextBestActivity(input({ lessons: laDone }))).toEqual({
      kind: 'STUDY_LESSON',
      lessonId: 'intro',
      conceptId: null,
      reason: 'Next in course order.',
    });
    const introDone = laDone.map((l) => (l.lessonId === 'intro' ? { ...l, completed: true } : l));
    expect(nextBestActivity(input({ lessons: introDone }))).toMatchObject({ kind: 'TAKE_QUIZ', lessonId: 'wrap-up' });
  });

  it('says NONE when everything is mastered and done', () => {
    const mastery = new Map(concepts.map((c) => [c.id, 0.99]));
    const lessons = [lesson('la', 'ARTICLE', 1, ['a'], { completed: true })];
    expect(nextBestActivity(input({ lessons, mastery }))).toEqual({
      kind: 'NONE',
      reason: 'Every concept is mastered and every lesson done.',
    });
  });

  it('says NONE, naming the frontier, when nothing is left to teach it', () => {
    const out = nextBestActivity(input({ lessons: [] }));
    expect(out.kind).toBe('NONE');
    expect(out.kind === 'NONE' && out.reason).toMatch(/\(Variables\)/);
  });

  it('refuses a cyclic graph, unknown concepts, bad mastery and bad counts', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return [(err as { extensions: { code: string } }).extensions.code, (err as Error).message];
      }
      return null;
    };
    expect(code(() => nextBestActivity(input({ edges: [...edges, { from: 'c', to: 'a' }] })))).toEqual([
      'BAD_USER_INPUT',
      'The prerequisite graph has a cycle: a → b → c → a.',
    ]);
    expect(code(() => nextBestActivity(input({ lessons: [lesson('x', 'ARTICLE', 1, ['zz'])] })))?.[1]).toMatch(
      /tagged with concept zz, which is not in the course/,
    );
    expect(code(() => nextBestActivity(input({ mastery: new Map([['a', 1.5]]) })))?.[1]).toMatch(
      /Mastery of concept a is 1\.5/,
    );
    expect(code(() => nextBestActivity(input({ dueCardCount: -1 })))?.[1]).toMatch(/dueCardCount is -1/);
  });
});

describe('nextBestActivity property', () => {
  it('over random DAGs and mastery maps, never touches a concept with an unmastered prerequisite', () => {
    const rand = randomFromSeed('next-activity:property');
    let recommendedLessons = 0;
    let roundsWithBlockedLessons = 0;
    for (let round = 0; round < 500; round++) {
      const n = 2 + randomInt(rand, 10);
      const ids = Array.from({ length: n }, (_, i) => `k${i}`);
      // A random DAG: edges only from a lower to a higher index of a random permutation.
      const perm = ids.slice();
      for (let i = perm.length - 1; i > 0; i--) {
        const j = randomInt(rand, i + 1);
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      const density = rand() * 0.5;
      const graph: ConceptEdge[] = [];
      for (let i = 0; i < n; i++)
        for (let j = i + 1; j < n; j++) if (rand() < density) graph.push({ from: perm[i]!, to: perm[j]! });
      const mastery = new Map<string, number>();
      for (const id of ids) if (rand() < 0.9) mastery.set(id, rand() < 0.4 ? 0.95 + rand() * 0.05 : rand() * 0.95);
      const lessons: ActivityLesson[] = Array.from({ length: 1 + randomInt(rand, 12) }, (_, i) => {
        const tags = ids.filter(() => rand() < 0.25);
        const kind = (['VIDEO', 'ARTICLE', 'QUIZ'] as const)[randomInt(rand, 3)]!;
        return {
          lessonId: `l${i}`,
          kind,
          position: randomInt(rand, 20),
          conceptIds: tags,
          completed: rand() < 0.3,
          ...(kind === 'QUIZ' ? { quizPassed: rand() < 0.3 } : {}),
        };
      });
      const out = nextBestActivity({
        now,
        concepts: ids.map((id) => ({ id, title: id.toUpperCase() })),
        edges: graph,
        mastery,
        dueCardCount: 0,
        lessons,
      });

      // Independent check: the transitive closure of the prerequisite relation by fixed point.
      const ancestors = new Map(ids.map((id) => [id, new Set<string>()]));
      for (let changed = true; changed;) {
        changed = false;
        for (const { from, to } of graph) {
          const set = ancestors.get(to)!;
          for (const a of [from, ...ancestors.get(from)!]) {
            if (!set.has(a)) {
              set.add(a);
              changed = true;
            }
          }
        }
      }
      const isMastered = (id: string) => (mastery.get(id) ?? 0) >= MASTERY_THRESHOLD;
      const blocked = (id: string) => [...ancestors.get(id)!].some((a) => !isMastered(a));
      if (lessons.some((l) => l.conceptIds.some(blocked))) roundsWithBlockedLessons += 1;
      const touched: string[] = [];
      if (out.kind === 'STUDY_LESSON' || out.kind === 'TAKE_QUIZ') {
        recommendedLessons += 1;
        touched.push(...lessons.find((l) => l.lessonId === out.lessonId)!.conceptIds);
        if (out.conceptId !== null) {
          touched.push(out.conceptId);
          expect(isMastered(out.conceptId)).toBe(false);
        }
      }
      for (const id of touched) for (const a of ancestors.get(id)!) expect(isMastered(a)).toBe(true);
    }
    // The property was exercised, not vacuously true: lessons were recommended while others were blocked.
    expect(recommendedLessons).toBeGreaterThan(100);
    expect(roundsWithBlockedLessons).toBeGreaterThan(100);
  });
});
