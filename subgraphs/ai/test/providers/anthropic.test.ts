// The Anthropic adapter against a local server that speaks the Messages API over real HTTP.
import {
  startMessagesApiServer,
  TEST_API_KEY,
  type MessagesApiServer,
  type MessagesRequestBody,
} from '@coursegraph/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAnthropicProvider, type AnthropicProviderOptions } from '../../src/providers/anthropic.js';
import { ProviderError, type ModelRequest, type StreamEvent } from '../../src/providers/provider.js';

const SYSTEM = 'You are a patient tutor.';
const QUESTION = 'What does a closure capture in JavaScript?';

/** The server's reply: names the model and repeats the question, so a wrong request shows in the text. */
const replyFor = (body: MessagesRequestBody) =>
  `Good question for ${body.model}. Think about what "${String(body.messages.at(-1)?.content)}" means for variables in scope.`;

const wordCount = (text: string) => text.split(/\s+/).filter(Boolean).length;

function request(overrides: Partial<ModelRequest> = {}): ModelRequest {
  return {
    task: {
      kind: 'TUTOR',
      lessonTitle: 'Closures',
      subject: 'JavaScript',
      passages: [],
      history: [],
      learnerMessage: QUESTION,
      hintsGiven: 0,
      protectedAnswers: [],
    },
    tier: 'MID',
    model: 'claude-test-mid',
    system: SYSTEM,
    messages: [{ role: 'user', content: QUESTION }],
    maxTokens: 200,
    timeoutMs: 5_000,
    ...overrides,
  };
}

/** The error a promise rejects with (the test fails if it resolves). */
async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => expect.fail('expected the call to fail'),
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

/** Reads a stream to its end, keeping what arrived before a failure. */
async function drain(events: AsyncIterable<StreamEvent>): Promise<{ received: StreamEvent[]; error?: unknown }> {
  const received: StreamEvent[] = [];
  try {
    for await (const event of events) received.push(event);
    return { received };
  } catch (error) {
    return { received, error };
  }
}

let server: MessagesApiServer;
const provider = (options: Partial<AnthropicProviderOptions> = {}) =>
  createAnthropicProvider({ apiKey: TEST_API_KEY, baseURL: server.url, ...options });

beforeEach(async () => {
  server = await startMessagesApiServer({ reply: replyFor });
});
afterEach(async () => {
  await server.close();
});

describe('complete', () => {
  it('sends the prompt as a Messages API request and returns the text, usage, model and stop reason', async () => {
    const completion = await provider().complete(request());

    const expected = replyFor({
      model: 'claude-test-mid',
      max_tokens: 200,
      messages: [{ role: 'user', content: QUESTION }],
    });
    expect(completion).toEqual({
      text: expected,
      usage: { inputTokens: wordCount(SYSTEM) + wordCount(QUESTION), outputTokens: wordCount(expected) },
      model: 'claude-test-mid',
      stopReason: 'end_turn',
    });
    const [received] = server.requests;
    expect(received?.path).toBe('/v1/messages');
    expect(received?.body).toMatchObject({
      model: 'claude-test-mid',
      max_tokens: 200,
      system: SYSTEM,
      messages: [{ role: 'user', content: QUESTION }],
    });
    expect(received?.headers['anthropic-version']).toBeTruthy();
    expect(received?.headers.authorization).toBe('[redacted]');
  });

  it('reports max_tokens when the reply was cut at the limit', async () => {
    const completion = await provider().complete(request({ maxTokens: 3 }));

    expect(completion.stopReason).toBe('max_tokens');
    expect(completion.usage.outputTokens).toBe(3);
    expect(completion.text).toBe('Good question for ');
  });
});

describe('stream', () => {
  it('yields the deltas in order, then one done with the whole text, usage and stop reason', async () => {
    const { received, error } = await drain(provider().stream(request()));

    expect(error).toBeUndefined();
    const deltas = received.filter((event) => event.type === 'delta').map((event) => event.text);
    const expected = replyFor({
      model: 'claude-test-mid',
      max_tokens: 200,
      messages: [{ role: 'user', content: QUESTION }],
    });
    expect(deltas.length).toBe(wordCount(expected));
    expect(deltas.join('')).toBe(expected);
    expect(received.at(-1)).toEqual({
      type: 'done',
      completion: {
        text: expected,
        usage: { inputTokens: wordCount(SYSTEM) + wordCount(QUESTION), outputTokens: wordCount(expected) },
        model: 'claude-test-mid',
        stopReason: 'end_turn',
      },
    });
    expect(received.filter((event) => event.type === 'done')).toHaveLength(1);
    expect(server.requests[0]?.body).toMatchObject({ stream: true });
  });

  it('reports max_tokens as the stop reason of a stream cut at the limit', async () => {
    const { received } = await drain(provider().stream(request({ maxTokens: 4 })));

    const done = received.at(-1);
    expect(done?.type === 'done' && done.completion).toMatchObject({
      stopReason: 'max_tokens',
      usage: { outputTokens: 4 },
    });
  });
});

describe('retries', () => {
  it('waits the retry-after of a 429 (seconds) and then succeeds', async () => {
    server.script([{ kind: 'error', status: 429, retryAfterSeconds: 1 }]);

    const completion = await provider().complete(request());

    expect(completion.stopReason).toBe('end_turn');
    expect(server.requests.map((r) => r.fault)).toEqual(['error', undefined]);
    const [first, second] = server.requests;
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(1_000);
  });

  it('waits the retry-after-ms of a 529 and then streams the reply', async () => {
    server.script([{ kind: 'error', status: 529, retryAfterMs: 400 }]);

    const { received, error } = await drain(provider().stream(request()));

    expect(error).toBeUndefined();
    expect(received.at(-1)?.type).toBe('done');
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]!.receivedAt - server.requests[0]!.receivedAt).toBeGreaterThanOrEqual(400);
  });

  it('does not wait a retry-after longer than maxRetryWaitMs: rate_limited with retryAfterMs, no second request', async () => {
    server.script([{ kind: 'error', status: 429, retryAfterSeconds: 30 }]);

    const error = await failure(provider({ maxRetryWaitMs: 5_000 }).complete(request()));

    expect(error.kind).toBe('rate_limited');
    expect(error.retryAfterMs).toBe(30_000);
    expect(server.requests).toHaveLength(1);
  });

  it('does not wait a retry-after that ends past the deadline: overloaded with retryAfterMs', async () => {
    server.script([{ kind: 'error', status: 529, retryAfterSeconds: 2 }]);

    const error = await failure(provider({ maxRetryWaitMs: 10_000 }).complete(request({ timeoutMs: 1_000 })));

    expect(error.kind).toBe('overloaded');
    expect(error.retryAfterMs).toBe(2_000);
    expect(server.requests).toHaveLength(1);
  });

  it('gives up after maxRetries and reports the last failure', async () => {
    server.script([1, 2, 3].map(() => ({ kind: 'error' as const, status: 429, retryAfterMs: 20 })));

    const error = await failure(provider({ maxRetries: 2 }).complete(request()));

    expect(error.kind).toBe('rate_limited');
    expect(server.requests).toHaveLength(3);
  });

  it('retries a 500 and a dropped connection, and maps them to unavailable when they persist', async () => {
    server.script([{ kind: 'error', status: 500 }]);
    await expect(provider({ maxRetries: 1 }).complete(request())).resolves.toMatchObject({ stopReason: 'end_turn' });
    expect(server.requests).toHaveLength(2);

    server.script([{ kind: 'disconnect' }, { kind: 'disconnect' }]);
    const error = await failure(provider({ maxRetries: 1 }).complete(request()));
    expect(error.kind).toBe('unavailable');
    expect(server.requests).toHaveLength(4);
  });
});

describe('deadlines', () => {
  it('fails with timeout when the headers come after the deadline, without retrying', async () => {
    server.script([{ kind: 'slow', delayMs: 10_000 }]);

    const error = await failure(provider().complete(request({ timeoutMs: 300 })));

    expect(error.kind).toBe('timeout');
    expect(server.requests).toHaveLength(1);
  });

  it('fails with timeout when a stream stalls mid-way, after the deltas that did arrive', async () => {
    server.script([{ kind: 'stall', afterDeltas: 2 }]);

    const { received, error } = await drain(provider().stream(request({ timeoutMs: 500 })));

    expect(received.map((event) => event.type)).toEqual(['delta', 'delta']);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe('timeout');
  });

  it('rethrows the caller’s own abort reason rather than a provider failure', async () => {
    server.script([{ kind: 'slow', delayMs: 10_000 }]);
    const controller = new AbortController();
    const reason = new Error('the learner left');

    const call = provider().complete(request({ signal: controller.signal }));
    setTimeout(() => controller.abort(reason), 100);

    await expect(call).rejects.toBe(reason);
  });
});

describe('failures that are not retried', () => {
  it('maps a wrong key to auth, and the key appears in no message or recorded header', async () => {
    const wrongKey = 'sk-wrong-key-that-must-not-leak';

    const error = await failure(provider({ apiKey: wrongKey }).complete(request()));

    expect(error.kind).toBe('auth');
    expect(error.message).not.toContain(wrongKey);
    expect(String(error.stack)).not.toContain(wrongKey);
    expect(JSON.stringify(server.requests)).not.toContain(wrongKey);
    expect(server.requests).toHaveLength(1);
  });

  it('maps a request the API refuses (400) to bad_request without a retry', async () => {
    const error = await failure(provider().complete(request({ messages: [] })));

    expect(error.kind).toBe('bad_request');
    expect(error.message).toContain('messages');
    expect(server.requests).toHaveLength(1);
  });

  it('maps an error event mid-stream to its kind, keeping the deltas that arrived, without a retry', async () => {
    server.script([{ kind: 'stream_error', afterDeltas: 3, errorType: 'overloaded_error' }]);

    const { received, error } = await drain(provider().stream(request()));

    expect(received).toHaveLength(3);
    expect((error as ProviderError).kind).toBe('overloaded');
    expect(server.requests).toHaveLength(1);
  });

  it('refuses a request without a positive timeoutMs before calling the API', async () => {
    const error = await failure(provider().complete(request({ timeoutMs: 0 })));

    expect(error.kind).toBe('bad_request');
    expect(server.requests).toHaveLength(0);
  });
});
