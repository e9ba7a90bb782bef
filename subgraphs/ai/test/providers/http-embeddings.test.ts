// The HTTP embeddings adapter against the local server's /v1/embeddings route over real HTTP.
import {
  hashedEmbedding,
  startMessagesApiServer,
  TEST_API_KEY,
  type MessagesApiServer,
} from '@coursegraph/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttpEmbeddingProvider, type HttpEmbeddingOptions } from '../../src/providers/http-embeddings.js';
import { ProviderError } from '../../src/providers/provider.js';

const DIMENSIONS = 48;
const TEXTS = [
  'A closure captures the variables of the scope it was created in.',
  'Hoisting moves declarations to the top of their scope.',
  'A closure captures the variables of the scope it was created in.',
];

let server: MessagesApiServer;
const provider = (options: Partial<HttpEmbeddingOptions> = {}) =>
  createHttpEmbeddingProvider({
    url: `${server.url}/v1/embeddings`,
    apiKey: TEST_API_KEY,
    model: 'embed-test',
    dimensions: DIMENSIONS,
    timeoutMs: 5_000,
    ...options,
  });

const norm = (vector: Float32Array) => Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => expect.fail('expected the call to fail'),
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

beforeEach(async () => {
  server = await startMessagesApiServer({ embeddingDimensions: DIMENSIONS });
});
afterEach(async () => {
  await server.close();
});

describe('embed', () => {
  it('returns one unit-length vector per text, in order, pointing where the server’s vector points', async () => {
    const vectors = await provider().embed(TEXTS);

    expect(vectors).toHaveLength(3);
    for (const [index, vector] of vectors.entries()) {
      expect(vector).toHaveLength(DIMENSIONS);
      expect(norm(vector)).toBeCloseTo(1, 5);
      // Same direction as the raw vector the server computed for this very text.
      const raw = hashedEmbedding(TEXTS[index]!, DIMENSIONS);
      const rawNorm = Math.sqrt(raw.reduce((sum, value) => sum + value * value, 0));
      raw.forEach((value, i) => expect(vector[i]).toBeCloseTo(value / rawNorm, 5));
    }
    expect([...vectors[2]!]).toEqual([...vectors[0]!]);
    expect([...vectors[1]!]).not.toEqual([...vectors[0]!]);
    const [received] = server.requests;
    expect(received?.body).toEqual({ input: TEXTS, model: 'embed-test' });
    expect(received?.headers.authorization).toBe('[redacted]');
  });

  it('sends long lists in batches and keeps the order', async () => {
    const texts = ['one', 'two', 'three', 'four', 'five'];

    const batched = await provider({ maxBatchSize: 2 }).embed(texts);
    const whole = await provider().embed(texts);

    expect(server.requests.map((r) => (r.body as { input: string[] }).input)).toEqual([
      ['one', 'two'],
      ['three', 'four'],
      ['five'],
      texts,
    ]);
    expect(batched.map((v) => [...v])).toEqual(whole.map((v) => [...v]));
  });

  it('asks nothing for an empty list', async () => {
    await expect(provider().embed([])).resolves.toEqual([]);
    expect(server.requests).toHaveLength(0);
  });
});

describe('failures', () => {
  it('refuses vectors of another length than configured, naming both', async () => {
    const error = await failure(provider({ dimensions: 32 }).embed(TEXTS));

    expect(error.kind).toBe('bad_request');
    expect(error.message).toContain('48-dimensional');
    expect(error.message).toContain('configured for 32');
  });

  it('maps a wrong key to auth without the key in the message', async () => {
    const wrongKey = 'emb-wrong-key-that-must-not-leak';

    const error = await failure(provider({ apiKey: wrongKey }).embed(TEXTS));

    expect(error.kind).toBe('auth');
    expect(error.message).not.toContain(wrongKey);
    expect(JSON.stringify(server.requests)).not.toContain(wrongKey);
  });

  it('waits the retry-after of a 429 and then succeeds', async () => {
    server.script([{ kind: 'error', status: 429, retryAfterMs: 300 }]);

    const vectors = await provider().embed(TEXTS);

    expect(vectors).toHaveLength(3);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]!.receivedAt - server.requests[0]!.receivedAt).toBeGreaterThanOrEqual(300);
  });

  it('fails with timeout when the server answers after the deadline', async () => {
    server.script([{ kind: 'slow', delayMs: 10_000 }]);

    const error = await failure(provider({ timeoutMs: 300 }).embed(TEXTS));

    expect(error.kind).toBe('timeout');
    expect(server.requests).toHaveLength(1);
  });

  it('maps a refused input (400) to bad_request without a retry', async () => {
    const error = await failure(provider().embed(['']));

    expect(error.kind).toBe('bad_request');
    expect(error.message).toContain('input');
    expect(server.requests).toHaveLength(1);
  });

  it('refuses a configuration it cannot work with', () => {
    expect(() => provider({ dimensions: 0 })).toThrow(/dimensions/);
    expect(() => provider({ url: 'ftp://example.com/v1/embeddings' })).toThrow(/http/);
    expect(() => provider({ timeoutMs: -1 })).toThrow(/timeoutMs/);
  });
});
