// Lessons the tutor tests share: passages as retrieval returns them, and a TUTOR task builder.
import type { SourcePassage } from '../../src/providers/provider.js';
import type { TutorTask } from '../../src/domain/tutor/deterministic.js';

const passage = (id: string, text: string): SourcePassage => ({ id, lessonId: 'lesson-1', source: 'LESSON', text });

export const closurePassages: SourcePassage[] = [
  passage(
    'closures',
    'A closure is a function that remembers the variables of the scope where it was created. Closures let you keep private state without a class.',
  ),
  passage('loops', 'A loop repeats a block of code. A for loop runs once for each item of a list.'),
  passage('callbacks', 'A callback is a function passed to another function, to be called later.'),
];

export const geographyPassages: SourcePassage[] = [
  passage(
    'germany',
    'Berlin is the capital of Germany and its largest city. The Spree river runs through the centre of Berlin.',
  ),
  passage('austria', 'Vienna is the capital of Austria. It lies on the Danube, the second-longest river in Europe.'),
];

export function tutorTask(overrides: Partial<TutorTask> = {}): TutorTask {
  return {
    kind: 'TUTOR',
    lessonTitle: 'Functions that remember',
    subject: 'JavaScript',
    passages: closurePassages,
    history: [],
    learnerMessage: 'What is a closure?',
    hintsGiven: 0,
    protectedAnswers: [],
    ...overrides,
  };
}
