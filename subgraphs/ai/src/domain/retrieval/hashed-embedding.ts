/**
 * The default embedding: deterministic, no model to download, the same vector on every machine.
 * A text's features (its stems, pairs of adjacent stems, character trigrams of each stem) are hashed
 * into `dimensions` buckets with a hashed sign (the "hashing trick": collisions cancel out on average
 * instead of piling up), weighted by a sublinear term frequency and L2-normalised, so the dot product
 * of two vectors is their cosine.
 *
 * What it knows is surface form, not meaning: stems match words, trigrams match spelling variants the
 * stemmer missed ("analyse"/"analysis"), bigrams reward phrases kept together. A learned model plugs
 * in behind the same EmbeddingProvider interface.
 */
import type { EmbeddingProvider } from '../../providers/provider.js';
import { tokenize, words } from './tokenize.js';

/** How much each kind of feature counts; a whole-stem match weighs most. */
const WORD_WEIGHT = 1;
const BIGRAM_WEIGHT = 0.6;
const TRIGRAM_WEIGHT = 0.25;

export interface HashedEmbeddingOptions {
  dimensions?: number;
}

export function createHashedEmbedding({ dimensions = 384 }: HashedEmbeddingOptions = {}): EmbeddingProvider {
  if (!Number.isInteger(dimensions) || dimensions < 16 || dimensions > 4096) {
    throw new RangeError(`A hashed embedding has 16 to 4096 dimensions, not ${dimensions}.`);
  }
  return {
    name: `hashed-${dimensions}`,
    dimensions,
    embed: async (texts: string[]) => texts.map((text) => embedText(text, dimensions)),
  };
}

/**
 * One text's vector. A text with no word outside the stop list is embedded from its stop words; one
 * with no word at all ("", "?!") gets the zero vector, which is close to nothing.
 */
export function embedText(text: string, dimensions: number): Float32Array {
  const features = new Map<string, { weight: number; count: number }>();
  const addFeature = (feature: string, weight: number) => {
    const seen = features.get(feature);
    if (seen) seen.count++;
    else features.set(feature, { weight, count: 1 });
  };

  let stems = tokenize(text);
  if (stems.length === 0) stems = words(text).filter((word) => word.length > 0);
  stems.forEach((stem, position) => {
    addFeature(`w\u0000${stem}`, WORD_WEIGHT);
    const next = stems[position + 1];
    if (next !== undefined) addFeature(`b\u0000${stem}\u0000${next}`, BIGRAM_WEIGHT);
    const padded = `<${stem}>`;
    for (let start = 0; start + 3 <= padded.length; start++) {
      addFeature(`c\u0000${padded.slice(start, start + 3)}`, TRIGRAM_WEIGHT);
    }
  });

  const vector = new Float32Array(dimensions);
  for (const [feature, { weight, count }] of features) {
    const hash = hash32(feature);
    const bucket = (hash >>> 1) % dimensions;
    const sign = hash & 1 ? -1 : 1;
    // Sublinear term frequency: the tenth "python" in a passage says less than the first.
    vector[bucket]! += sign * weight * (1 + Math.log(count));
  }
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < dimensions; i++) vector[i]! /= norm;
  return vector;
}

/** FNV-1a over the UTF-16 code units, then murmur3's finaliser so every output bit depends on every input bit. */
function hash32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
