/**
 * Embeddings from a remote model over the common `/v1/embeddings` JSON API, as Voyage AI and
 * OpenAI-compatible servers speak it: `POST { input: string[], model }` with `Authorization: Bearer`,
 * answered by `{ data: [{ embedding, index }], usage }`.
 *
 * Vectors come back unit length (retrieval compares them by dot product), and a vector of another length
 * than configured is refused rather than stored beside vectors it cannot be compared with. Failures are
 * ProviderErrors with the same kinds and retry policy as the Anthropic adapter (http-calls.ts).
 */
import {
  DEFAULT_RETRY_POLICY,
  Deadline,
  kindForStatus,
  retryAfterMsFrom,
  withRetries,
  withoutSecret,
  type RetryPolicy,
} from './http-calls.js';
import { ProviderError, type EmbeddingProvider } from './provider.js';

export interface HttpEmbeddingOptions {
  /** The endpoint itself, e.g. https://api.voyageai.com/v1/embeddings. */
  url: string;
  apiKey: string;
  model: string;
  /** The model's vector length; any other length in a reply is an error. */
  dimensions: number;
  /** Deadline of one HTTP request, its retries included. */
  timeoutMs: number;
  /** Most texts in one request (Voyage AI takes 128 at most); longer lists are sent in batches. Default 128. */
  maxBatchSize?: number;
  maxRetries?: number;
  maxRetryWaitMs?: number;
}

interface EmbeddingsResponse {
  data?: Array<{ embedding?: unknown; index?: unknown }>;
}

export function createHttpEmbeddingProvider(options: HttpEmbeddingOptions): EmbeddingProvider {
  const { url, apiKey, model, dimensions, timeoutMs } = options;
  const maxBatchSize = options.maxBatchSize ?? 128;
  const policy: RetryPolicy = {
    maxRetries: options.maxRetries ?? DEFAULT_RETRY_POLICY.maxRetries,
    maxRetryWaitMs: options.maxRetryWaitMs ?? DEFAULT_RETRY_POLICY.maxRetryWaitMs,
  };
  if (!/^https?:\/\//.test(url) || !URL.canParse(url))
    throw new Error(`The embeddings url must be an http(s) URL, not "${url}".`);
  if (!apiKey) throw new Error('The embeddings provider needs an API key.');
  if (!model) throw new Error('The embeddings provider needs a model name.');
  if (!Number.isInteger(dimensions) || dimensions < 1)
    throw new Error(`dimensions must be a positive whole number, not ${dimensions}.`);
  if (!(timeoutMs > 0)) throw new Error(`timeoutMs must be positive, not ${timeoutMs}.`);
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1)
    throw new Error(`maxBatchSize must be a positive whole number, not ${maxBatchSize}.`);

  const secretFree = (text: string) => withoutSecret(text, apiKey);

  /** One HTTP request: the raw vectors of `texts`, in order, each checked for length. */
  async function attempt(texts: string[], deadline: Deadline): Promise<number[][]> {
    const timedOut = `The embeddings API did not answer within ${timeoutMs} ms.`;
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: JSON.stringify({ input: texts, model }),
        signal: deadline.signal,
      });
      text = await response.text();
    } catch (error) {
      return deadline.fail(
        error,
        (cause) =>
          new ProviderError(
            'unavailable',
            secretFree(`Could not reach the embeddings API: ${(cause as Error).message}`),
          ),
        timedOut,
      );
    }
    const body = parsedOrText(text);
    if (!response.ok) {
      const detail = errorDetail(body);
      throw new ProviderError(
        kindForStatus(response.status),
        secretFree(`The embeddings API answered ${response.status}${detail ? ` (${detail})` : ''}.`),
        retryAfterMsFrom(response.headers),
      );
    }
    return vectorsOf(body as EmbeddingsResponse, texts.length);
  }

  /** The reply's vectors in input order; a malformed reply is `unavailable`, a wrong length `bad_request`. */
  function vectorsOf(body: EmbeddingsResponse, count: number): number[][] {
    const vectors: number[][] = [];
    if (!Array.isArray(body?.data) || body.data.length !== count)
      throw new ProviderError('unavailable', `The embeddings API returned no list of ${count} embeddings.`);
    for (const item of body.data) {
      const { embedding, index } = item ?? {};
      if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= count || vectors[index as number])
        throw new ProviderError(
          'unavailable',
          `The embeddings API returned an embedding with a bad index (${String(index)}).`,
        );
      if (!Array.isArray(embedding) || !embedding.every((value) => typeof value === 'number' && Number.isFinite(value)))
        throw new ProviderError(
          'unavailable',
          'The embeddings API returned an embedding that is not a list of numbers.',
        );
      if (embedding.length !== dimensions)
        throw new ProviderError(
          'bad_request',
          `The embedding model "${model}" returned ${embedding.length}-dimensional vectors; this provider is configured for ${dimensions}.`,
        );
      vectors[index as number] = embedding as number[];
    }
    return vectors;
  }

  return {
    name: `http:${model}`,
    dimensions,

    async embed(texts) {
      const unit: Float32Array[] = [];
      for (let start = 0; start < texts.length; start += maxBatchSize) {
        const batch = texts.slice(start, start + maxBatchSize);
        const deadline = new Deadline(timeoutMs);
        try {
          const vectors = await withRetries(() => attempt(batch, deadline), policy, deadline);
          for (const vector of vectors) unit.push(toUnitLength(vector, model));
        } finally {
          deadline.dispose();
        }
      }
      return unit;
    },
  };
}

function toUnitLength(vector: number[], model: string): Float32Array {
  const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
  if (norm === 0) throw new ProviderError('unavailable', `The embedding model "${model}" returned a zero vector.`);
  return Float32Array.from(vector, (value) => value / norm);
}

function parsedOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The server's own words for an error: OpenAI's `{ error: { message } }`, Voyage AI's `{ detail }`, or text. */
function errorDetail(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 200);
  const record = (body ?? {}) as { error?: { message?: unknown; type?: unknown }; detail?: unknown };
  const parts = [record.error?.type, record.error?.message ?? record.detail].filter((part) => typeof part === 'string');
  return parts.join(': ').slice(0, 200);
}
