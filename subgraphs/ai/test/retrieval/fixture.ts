/** A small corpus of two courses, written for these tests, and questions labelled with answer quotes. */
import { chunkLesson } from '../../src/domain/retrieval/chunk.js';
import type { LabelledQuestion } from '../../src/domain/retrieval/evaluate.js';
import type { CoursePassage } from '../../src/domain/retrieval/passage.js';

export const PYTHON = 'course-python';
export const PHOTOGRAPHY = 'course-photography';

export const LESSONS: { courseId: string; lessonId: string; text: string }[] = [
  {
    courseId: PYTHON,
    lessonId: 'py-variables',
    text: `A variable in Python is a name bound to an object. Assignment never copies the object: after b = a both names refer to the same list, so appending through one name is visible through the other.

Python is dynamically typed. The type belongs to the object, not to the name, and a name may be bound to an integer first and to a string later.

Integers in Python have arbitrary precision, so 2 ** 100 is computed exactly. Floating-point numbers follow IEEE 754 and 0.1 + 0.2 is not exactly 0.3.`,
  },
  {
    courseId: PYTHON,
    lessonId: 'py-loops',
    text: `A for loop iterates over any iterable: a list, a string, a dictionary's keys or a generator. The built-in range(n) yields the integers from 0 to n - 1 without building a list.

The break statement leaves the innermost loop at once, and continue skips to its next iteration. A loop's else clause runs only when the loop finished without a break.

List comprehensions build a list from an iterable in one expression, such as [x * x for x in range(10)], and may filter items with a trailing if.`,
  },
  {
    courseId: PYTHON,
    lessonId: 'py-functions',
    text: `Functions are defined with def and return None when no return statement runs. Default argument values are evaluated once, when the def statement runs, which is why a mutable default such as an empty list is shared between calls.

Decorators wrap a function in another: @functools.lru_cache memoizes a function's results, keyed by its arguments, so a recursive Fibonacci runs in linear time.

A generator function contains yield. Calling it returns an iterator that runs the body lazily, pausing at each yield until the next value is asked for.`,
  },
  {
    courseId: PHOTOGRAPHY,
    lessonId: 'ph-exposure',
    text: `Exposure is set by three controls: aperture, shutter speed and ISO. Each full stop doubles or halves the light that reaches the sensor.

The aperture is the opening of the lens, written as an f-number. A wide aperture such as f/1.8 gives a shallow depth of field that blurs the background of a portrait.

A fast shutter speed like 1/1000 s freezes motion; a slow one like 1/15 s blurs moving water. Hand-held, keep the shutter faster than one over the focal length to avoid camera shake.`,
  },
  {
    courseId: PHOTOGRAPHY,
    lessonId: 'ph-composition',
    text: `The rule of thirds divides the frame with two horizontal and two vertical lines and places the subject near one of their four intersections.

Leading lines such as roads, rivers and fences draw the eye from the foreground to the subject. Keep the horizon level unless the tilt is deliberate.

Golden hour, the hour after sunrise and before sunset, gives warm, soft, low light with long shadows that flatter faces and landscapes.`,
  },
];

export function corpus(): CoursePassage[] {
  return LESSONS.flatMap(chunkLesson);
}

export const QUESTIONS: LabelledQuestion[] = [
  {
    id: 'q1',
    courseId: PYTHON,
    question: 'Why is a mutable default argument shared between calls?',
    answerQuote: 'evaluated once, when the def statement runs',
  },
  {
    id: 'q2',
    courseId: PYTHON,
    question: 'When does the else clause of a loop run?',
    answerQuote: 'only when the loop finished without a break',
  },
  {
    id: 'q3',
    courseId: PYTHON,
    question: 'how do I memoize a recursive function?',
    answerQuote: 'lru_cache memoizes',
  },
  {
    id: 'q4',
    courseId: PYTHON,
    question: 'Does assigning one variable to another copy the list?',
    answerQuote: 'Assignment never copies the object',
  },
  {
    id: 'q5',
    courseId: PHOTOGRAPHY,
    question: 'Which aperture blurs the background in portraits?',
    answerQuote: 'shallow depth of field',
  },
  {
    id: 'q6',
    courseId: PHOTOGRAPHY,
    question: 'Where should the subject go under the rule of thirds?',
    answerQuote: 'near one of their four   intersections',
  },
  {
    id: 'q7',
    courseId: PHOTOGRAPHY,
    question: 'what shutter speed avoids camera shake when shooting handheld',
    answerQuote: 'faster than one over the focal length',
  },
  {
    id: 'q8',
    courseId: PHOTOGRAPHY,
    question: 'What light do you get at golden hour?',
    answerQuote: 'WARM, SOFT, LOW LIGHT',
  },
];
