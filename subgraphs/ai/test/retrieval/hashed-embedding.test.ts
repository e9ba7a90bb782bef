import { describe, expect, it } from 'vitest';
import { createHashedEmbedding } from '../../src/domain/retrieval/hashed-embedding.js';

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, i) => sum + value * b[i]!, 0);
const length = (v: Float32Array) => Math.sqrt(cosine(v, v));

describe('createHashedEmbedding', () => {
  it('is deterministic: the same text gives the same vector, from any instance', async () => {
    const text = 'A wide aperture gives a shallow depth of field.';
    const [first] = await createHashedEmbedding().embed([text]);
    const [second, other] = await createHashedEmbedding().embed([text, 'Something else entirely.']);
    expect(Array.from(second!)).toEqual(Array.from(first!));
    expect(Array.from(other!)).not.toEqual(Array.from(first!));
  });

  it('gives one unit-length vector of the configured size per text, in order', async () => {
    const embedding = createHashedEmbedding({ dimensions: 128 });
    expect(embedding.dimensions).toBe(128);
    const texts = ['Loops repeat code.', 'Ünïcödé wörds 東京', 'c++ and node.js', 'it is what it is'];
    const vectors = await embedding.embed(texts);
    expect(vectors).toHaveLength(texts.length);
    for (const vector of vectors) {
      expect(vector).toBeInstanceOf(Float32Array);
      expect(vector.length).toBe(128);
      expect(length(vector)).toBeCloseTo(1, 5);
    }
    expect(await createHashedEmbedding().embed([])).toEqual([]);
  });

  it('places similar texts closer than unrelated ones', async () => {
    const [query, paraphrase, unrelated] = await createHashedEmbedding().embed([
      'How does a wide aperture blur the background?',
      'Opening the aperture wide blurs the background behind a portrait.',
      'A for loop iterates over the items of a list.',
    ]);
    expect(cosine(query!, paraphrase!)).toBeGreaterThan(cosine(query!, unrelated!) + 0.2);
  });

  it('relates spelling variants the stemmer does not merge, through character trigrams', async () => {
    const [analyse, analysis, banana] = await createHashedEmbedding().embed(['analyse', 'analysis', 'banana']);
    expect(cosine(analyse!, analysis!)).toBeGreaterThan(0.15);
    expect(cosine(analyse!, analysis!)).toBeGreaterThan(cosine(analyse!, banana!) + 0.1);
  });

  it('gives the zero vector to a text with no words, which is close to nothing', async () => {
    const [empty] = await createHashedEmbedding().embed(['  ?! ']);
    expect(length(empty!)).toBe(0);
  });

  it('refuses a dimension count it cannot work with', () => {
    expect(() => createHashedEmbedding({ dimensions: 0 })).toThrow(/16 to 4096 dimensions, not 0/);
    expect(() => createHashedEmbedding({ dimensions: 1.5 })).toThrow(/not 1.5/);
  });
});
