/** Two lessons written for these tests, each as passages the way retrieval hands them to a task. */
import type { SourcePassage } from '../../src/providers/provider.js';

const passage = (
  id: string,
  lessonId: string,
  text: string,
  source: 'LESSON' | 'CAPTION' = 'LESSON',
): SourcePassage => ({
  id,
  lessonId,
  source,
  text,
});

/** Stacks, queues and hash tables: definitions, code spans, abbreviations, a decimal and a list. */
export const DATA_STRUCTURES: SourcePassage[] = [
  passage(
    'ds-1',
    'lesson-ds',
    `# Stacks and queues

A stack is a collection where the last element added is the first one removed. Programmers call this
order LIFO, i.e. last in, first out. In Python a plain list works as a stack: \`items.append(x)\` pushes
and \`items.pop()\` pops. Each push and each pop on a stack takes constant time.

A queue is a collection where the first element added is the first one removed. Print jobs wait in a
queue, e.g. when several people share one printer. The \`collections.deque\` type gives a queue whose
operations take constant time at both ends.`,
  ),
  passage(
    'ds-2',
    'lesson-ds',
    `Hash tables are structures that map keys to values through a hash function. A hash function turns a
key into an index of the underlying array. When two keys land on the same index, the table has a
collision. Chaining means keeping every colliding entry in a small list at that index.

The load factor is the ratio of stored entries to array slots. Python's dict grows its array when the
load factor passes about 0.66, so look-ups stay fast. Dr. Knuth analysed these tables in detail.

- A lookup in a hash table takes constant time on average.
- A lookup in a sorted array takes logarithmic time with binary search.`,
  ),
];

/** Photosynthesis: definitions in several forms ("means", "refers to", "is called"), and a caption passage. */
export const PHOTOSYNTHESIS: SourcePassage[] = [
  passage(
    'ps-1',
    'lesson-ps',
    `Photosynthesis is the process by which plants turn light energy into chemical energy. It takes place in
the chloroplast, a small organelle found in the cells of leaves. Chlorophyll is the green pigment that
absorbs light inside the chloroplast. Chlorophyll absorbs red and blue light and reflects green light,
which is why leaves look green.

The stroma is the fluid that fills the chloroplast around the thylakoids. The light-dependent reactions
happen in the thylakoid membranes, while the Calvin cycle happens in the stroma. Carbon fixation refers to
the capture of carbon dioxide into organic molecules. The enzyme that fixes carbon dioxide is called
rubisco.`,
  ),
  passage(
    'ps-2',
    'lesson-ps',
    `so in the light-dependent reactions the chloroplast splits water and releases oxygen. A leaf opens small
pores called stomata to take in carbon dioxide. Transpiration means the loss of water vapour through the
stomata of a leaf. On a hot day a leaf may close its stomata to save water, which slows photosynthesis.`,
    'CAPTION',
  ),
];
