import { describe, expect, it } from 'vitest';
import type { EmbeddingProvider } from '../../src/providers/provider.js';
import { createHashedEmbedding } from '../../src/domain/retrieval/hashed-embedding.js';
import { createRetriever, RRF_K } from '../../src/domain/retrieval/hybrid.js';
import type { CoursePassage } from '../../src/domain/retrieval/passage.js';
import { corpus, PHOTOGRAPHY, PYTHON } from './fixture.js';

const passage = (id: string, text: string, lessonId = 'l1', courseId = 'c1'): CoursePassage => ({
  id,
  courseId,
  lessonId,
  source: 'LESSON',
  text,
});

/**
 * An embedding whose vectors the test chooses (by the text's first word), so the vector ranking is
 * known exactly and the fusion arithmetic can be checked against it.
 */
function chosenEmbedding(vectors: Record<string, number[]>): EmbeddingProvider {
  return {
    name: 'chosen',
    dimensions: 3,
    embed: async (texts) => texts.map((text) => Float32Array.from(vectors[text.split(' ')[0]!] ?? [0, 0, 0])),
  };
}

describe('createRetriever', () => {
  it('fuses the two rankings by reciprocal rank: agreement beats a single first place', async () => {
    // Lexical order for "zebra": lex (3 × zebra) > both (1 × zebra, longer); vector order: vec > both.
    const retriever = createRetriever({
      embedding: chosenEmbedding({
        zebra: [1, 0, 0],
        lex: [0, 0, 1],
        both: [0.8, 0.6, 0],
        vec: [1, 0.1, 0],
      }),
    });
    await retriever.add([
      passage('lex', 'lex zebra zebra zebra'),
      passage('both', 'both zebra stripes grass savanna herd'),
      passage('vec', 'vec horses'),
    ]);
    const results = await retriever.search('zebra', { courseId: 'c1', k: 3 });
    expect(results.map((r) => [r.passage.id, r.lexicalRank, r.vectorRank])).toEqual([
      ['both', 2, 2],
      ['lex', 1, undefined],
      ['vec', undefined, 1],
    ]);
    expect(results[0]!.score).toBeCloseTo(2 / (RRF_K + 2), 10);
    expect(results[0]!.foundBy).toEqual(['LEXICAL', 'VECTOR']);
    expect(results[1]!.foundBy).toEqual(['LEXICAL']);
    expect(results[2]!.foundBy).toEqual(['VECTOR']);
    // lex and vec tie at 1/(RRF_K + 1); the tie goes to the smaller id, every time.
    expect(results[1]!.score).toBe(results[2]!.score);
  });

  it('ranks by one ranker alone when asked', async () => {
    const retriever = createRetriever({
      embedding: chosenEmbedding({ zebra: [1, 0, 0], lex: [0, 0, 1], both: [0.8, 0.6, 0], vec: [1, 0.1, 0] }),
    });
    await retriever.add([
      passage('lex', 'lex zebra zebra zebra'),
      passage('both', 'both zebra stripes grass savanna herd'),
      passage('vec', 'vec horses'),
    ]);
    const ids = async (mode: 'LEXICAL' | 'VECTOR') =>
      (await retriever.search('zebra', { courseId: 'c1', k: 3, mode })).map((r) => r.passage.id);
    expect(await ids('LEXICAL')).toEqual(['lex', 'both']);
    // "lex" is orthogonal to the query: a cosine of 0 is not a match.
    expect(await ids('VECTOR')).toEqual(['vec', 'both']);
  });

  it("moves the learner's current lesson up a few places, never past a ranker's first choice", async () => {
    // Vector order for "query": first, second, third, fourth, mine (the current lesson's), sixth, …
    const order = ['first', 'second', 'third', 'fourth', 'mine', 'sixth', 'seventh', 'eighth', 'ninth', 'tenth'];
    const vectors = Object.fromEntries(order.map((id, i) => [id, [1, i / 4, 0]]));
    const retriever = createRetriever({ embedding: chosenEmbedding({ query: [1, 0, 0], ...vectors }) });
    await retriever.add(order.map((id) => passage(id, id, id === 'mine' || id === 'tenth' ? 'current' : 'other')));
    const search = async (lessonId?: string) =>
      (await retriever.search('query', { courseId: 'c1', k: 10, lessonId, mode: 'VECTOR' })).map(
        (r) => `${r.passage.id}@${r.vectorRank}:${(1 / r.score - RRF_K).toFixed(0)}`,
      );
    expect(await search()).toEqual([
      'first@1:1',
      'second@2:2',
      'third@3:3',
      'fourth@4:4',
      'mine@5:5',
      'sixth@6:6',
      'seventh@7:7',
      'eighth@8:8',
      'ninth@9:9',
      'tenth@10:10',
    ]);
    // Three places up: "mine" fuses as second (and wins the tie), "tenth" as seventh; "first" stays first.
    expect(await search('current')).toEqual([
      'first@1:1',
      'mine@5:2',
      'second@2:2',
      'third@3:3',
      'fourth@4:4',
      'sixth@6:6',
      'tenth@10:7',
      'seventh@7:7',
      'eighth@8:8',
      'ninth@9:9',
    ]);
  });

  it('keeps a clear winner from another lesson first when the current lesson matches less', async () => {
    const retriever = createRetriever({ embedding: createHashedEmbedding() });
    await retriever.add([
      passage('here', 'A closure keeps the variables of the function that created it.', 'current'),
      passage('there', 'Closures capture variables; a closure outlives the call that made it.', 'earlier'),
      passage('answer', 'Decorators are closures: a decorator returns a closure that wraps the function.', 'earlier'),
    ]);
    const results = await retriever.search('decorators wrap functions in closures', {
      courseId: 'c1',
      k: 3,
      lessonId: 'current',
    });
    expect(results[0]).toMatchObject({ passage: { id: 'answer' }, lexicalRank: 1, vectorRank: 1 });
    expect(results[1]!.passage.id).toBe('here');
  });

  it('refuses a same-lesson boost that is not a number of places', () => {
    expect(() => createRetriever({ embedding: createHashedEmbedding(), sameLessonBoost: -1 })).toThrow(/not -1/);
    expect(() => createRetriever({ embedding: createHashedEmbedding(), sameLessonBoost: 0.5 })).toThrow(/not 0.5/);
  });

  it('answers within one course, and forgets removed lessons', async () => {
    const retriever = createRetriever({ embedding: createHashedEmbedding() });
    await retriever.add(corpus());
    const results = await retriever.search('aperture and depth of field', { courseId: PHOTOGRAPHY, k: 5 });
    expect(results[0]!.passage.lessonId).toBe('ph-exposure');
    expect(results.every((r) => r.passage.courseId === PHOTOGRAPHY)).toBe(true);
    const python = await retriever.search('aperture and depth of field', { courseId: PYTHON, k: 5 });
    expect(python.every((r) => r.passage.courseId === PYTHON)).toBe(true);

    const before = retriever.size;
    const removed = retriever.removeLesson('ph-exposure');
    expect(removed).toBeGreaterThan(0);
    expect(retriever.size).toBe(before - removed);
    const after = await retriever.search('aperture and depth of field', { courseId: PHOTOGRAPHY, k: 5 });
    expect(after.some((r) => r.passage.lessonId === 'ph-exposure')).toBe(false);
    expect(retriever.removeLesson('ph-exposure')).toBe(0);
  });

  it('replaces a passage re-added under its id, also when it moved to another lesson', async () => {
    const retriever = createRetriever({ embedding: createHashedEmbedding() });
    await retriever.add([passage('p', 'Tuples are immutable sequences.', 'l1')]);
    await retriever.add([passage('p', 'Sets hold unique hashable items.', 'l2')]);
    expect(retriever.size).toBe(1);
    expect(await retriever.search('immutable tuples', { courseId: 'c1', k: 5, mode: 'LEXICAL' })).toEqual([]);
    const results = await retriever.search('sets', { courseId: 'c1', k: 5 });
    expect(results.map((r) => r.passage.text)).toEqual(['Sets hold unique hashable items.']);
    expect(retriever.removeLesson('l1')).toBe(0);
    expect(retriever.removeLesson('l2')).toBe(1);
  });

  it('loads stored vectors without embedding again', async () => {
    const embedding = createHashedEmbedding();
    const texts = corpus();
    const vectors = await embedding.embed(texts.map((p) => p.text));
    const calls: number[] = [];
    const counting: EmbeddingProvider = {
      ...embedding,
      embed: (batch) => {
        calls.push(batch.length);
        return embedding.embed(batch);
      },
    };
    const retriever = createRetriever({ embedding: counting });
    retriever.addEmbedded(texts.map((p, i) => ({ passage: p, vector: vectors[i]! })));
    expect(calls).toEqual([]);
    const results = await retriever.search('golden hour light', { courseId: PHOTOGRAPHY, k: 1 });
    expect(results[0]!.passage.lessonId).toBe('ph-composition');
    expect(calls).toEqual([1]); // the query only
  });

  it('refuses stored vectors of another size, and indexes none of the batch', () => {
    const retriever = createRetriever({ embedding: createHashedEmbedding() });
    const good = { passage: passage('a', 'fine'), vector: new Float32Array(384) };
    const bad = { passage: passage('b', 'wrong'), vector: new Float32Array(128) };
    expect(() => retriever.addEmbedded([good, bad])).toThrow(
      /Passage b has a vector of 128 dimensions; hashed-384 makes 384/,
    );
    expect(retriever.size).toBe(0);
  });

  it('indexes nothing when the embedding fails', async () => {
    const failing: EmbeddingProvider = {
      name: 'failing',
      dimensions: 3,
      embed: async () => {
        throw new Error('embedding service down');
      },
    };
    const retriever = createRetriever({ embedding: failing });
    await expect(retriever.add([passage('a', 'text')])).rejects.toThrow('embedding service down');
    expect(retriever.size).toBe(0);
  });

  it('refuses hostile queries with a specific error', async () => {
    const retriever = createRetriever({ embedding: createHashedEmbedding() });
    await retriever.add(corpus());
    const search = (query: string, options: object) =>
      retriever.search(query, { courseId: PYTHON, k: 5, ...options } as never);
    await expect(search('   ', {})).rejects.toThrow('The question is empty.');
    await expect(search('loop '.repeat(2000), {})).rejects.toThrow(/10000 characters long; at most 8000/);
    await expect(search('loops', { k: 0 })).rejects.toThrow(/1 to 50; got 0/);
    await expect(search('loops', { k: 1e9 })).rejects.toThrow(/1 to 50; got 1000000000/);
    await expect(search('loops', { k: 2.5 })).rejects.toThrow(/got 2.5/);
    await expect(search('loops', { courseId: '' })).rejects.toThrow(/scoped to a course/);
    await expect(search('loops', { lessonId: '' })).rejects.toThrow(/lesson id/);
    await expect(search('loops', {})).resolves.not.toHaveLength(0);
    await expect(search('?!', {})).resolves.toEqual([]);
  });
});
