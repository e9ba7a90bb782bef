/**
 * The real model provider: Anthropic's Messages API through `@anthropic-ai/sdk`.
 *
 * The SDK sends the request and parses the reply; retries and the deadline are ours (http-calls.ts
 * says why), so the SDK runs with `maxRetries: 0`. Every failure leaves as a ProviderError, except a
 * cancellation by the caller's own signal, which rethrows the caller's reason. The API key is never
 * logged (the SDK's logger is off) nor put in a message.
 */
import Anthropic, { APIConnectionError, APIConnectionTimeoutError, APIError } from '@anthropic-ai/sdk';
import type { MessageCreateParamsBase } from '@anthropic-ai/sdk/resources/messages';
import {
  DEFAULT_RETRY_POLICY,
  Deadline,
  kindForStatus,
  retryAfterMsFrom,
  withRetries,
  withoutSecret,
  type RetryPolicy,
} from './http-calls.js';
import {
  ProviderError,
  type Completion,
  type ModelProvider,
  type ModelRequest,
  type ProviderErrorKind,
  type StreamEvent,
} from './provider.js';

export interface AnthropicProviderOptions {
  apiKey: string;
  /** Default https://api.anthropic.com; tests give the local Messages API server's URL. */
  baseURL?: string;
  /** Further attempts after a 429, 529/503, 5xx or network failure. Default 2. */
  maxRetries?: number;
  /** A retry-after longer than this is not waited: the call fails with the server's retryAfterMs. Default 5000. */
  maxRetryWaitMs?: number;
}

/** The ProviderError kind for an Anthropic error type (the `error.type` of a body or a mid-stream `error` event). */
const KIND_BY_ERROR_TYPE: Record<string, ProviderErrorKind> = {
  rate_limit_error: 'rate_limited',
  overloaded_error: 'overloaded',
  authentication_error: 'auth',
  permission_error: 'auth',
  invalid_request_error: 'bad_request',
  request_too_large: 'bad_request',
  not_found_error: 'bad_request',
  timeout_error: 'timeout',
  api_error: 'unavailable',
};

export function createAnthropicProvider(options: AnthropicProviderOptions): ModelProvider {
  if (!options.apiKey) throw new Error('The Anthropic provider needs an API key.');
  const policy: RetryPolicy = {
    maxRetries: options.maxRetries ?? DEFAULT_RETRY_POLICY.maxRetries,
    maxRetryWaitMs: options.maxRetryWaitMs ?? DEFAULT_RETRY_POLICY.maxRetryWaitMs,
  };
  if (!Number.isInteger(policy.maxRetries) || policy.maxRetries < 0)
    throw new Error(`maxRetries must be a whole number of at least 0, not ${policy.maxRetries}.`);
  if (!(policy.maxRetryWaitMs >= 0))
    throw new Error(`maxRetryWaitMs must be at least 0, not ${policy.maxRetryWaitMs}.`);

  const client = new Anthropic({
    apiKey: options.apiKey,
    baseURL: options.baseURL,
    maxRetries: 0,
    logLevel: 'off',
  });

  /** What an SDK failure means for the router, in words that never contain the key. */
  function toProviderError(error: unknown): ProviderError {
    if (error instanceof ProviderError) return error;
    if (error instanceof APIConnectionTimeoutError)
      return new ProviderError('timeout', 'The Anthropic API did not answer in time.');
    if (error instanceof APIConnectionError)
      return new ProviderError(
        'unavailable',
        withoutSecret(`Could not reach the Anthropic API: ${error.message}`, options.apiKey),
      );
    if (error instanceof APIError) {
      const kind =
        error.status !== undefined
          ? kindForStatus(error.status)
          : (KIND_BY_ERROR_TYPE[error.type ?? ''] ?? 'unavailable');
      const what = error.status !== undefined ? `answered ${error.status}` : 'failed mid-stream';
      const detail = [error.type, error.apiMessage].filter(Boolean).join(': ');
      const message = withoutSecret(`The Anthropic API ${what}${detail ? ` (${detail})` : ''}.`, options.apiKey);
      return new ProviderError(kind, message, retryAfterMsFrom(error.headers));
    }
    const text = error instanceof Error ? error.message : String(error);
    return new ProviderError('unavailable', withoutSecret(`The Anthropic call failed: ${text}`, options.apiKey));
  }

  const params = (request: ModelRequest): MessageCreateParamsBase => ({
    model: request.model,
    max_tokens: request.maxTokens,
    ...(request.system ? { system: request.system } : {}),
    messages: request.messages.map((message) => ({ role: message.role, content: message.content })),
  });

  /** The SDK's per-attempt options: our deadline's signal, and its remaining time as the SDK's timeout. */
  const attemptOptions = (deadline: Deadline) => ({
    signal: deadline.signal,
    timeout: Math.max(1, Math.ceil(deadline.remainingMs())),
    maxRetries: 0,
  });

  return {
    name: 'anthropic',

    async complete(request) {
      const deadline = new Deadline(request.timeoutMs, request.signal);
      const timedOut = `The Anthropic API did not answer within ${request.timeoutMs} ms.`;
      try {
        const message = await withRetries(
          async () => {
            try {
              return await client.messages.create({ ...params(request), stream: false }, attemptOptions(deadline));
            } catch (error) {
              return deadline.fail(error, toProviderError, timedOut);
            }
          },
          policy,
          deadline,
        );
        const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
        return {
          text,
          usage: { inputTokens: inputTokensOf(message.usage), outputTokens: message.usage.output_tokens },
          model: message.model,
          stopReason: message.stop_reason ?? 'end_turn',
        } satisfies Completion;
      } finally {
        deadline.dispose();
      }
    },

    async *stream(request): AsyncGenerator<StreamEvent> {
      const deadline = new Deadline(request.timeoutMs, request.signal);
      const timedOut = `The Anthropic stream was not complete within ${request.timeoutMs} ms.`;
      try {
        // Only opening the stream is retried: once text has reached the caller, a retry would repeat it.
        const events = await withRetries(
          async () => {
            try {
              return await client.messages.create({ ...params(request), stream: true }, attemptOptions(deadline));
            } catch (error) {
              return deadline.fail(error, toProviderError, timedOut);
            }
          },
          policy,
          deadline,
        );
        let text = '';
        let model = request.model;
        let inputTokens = 0;
        let outputTokens = 0;
        let stopReason: string | null = null;
        let finished = false;
        try {
          for await (const event of events) {
            if (event.type === 'message_start') {
              model = event.message.model;
              inputTokens = inputTokensOf(event.message.usage);
              outputTokens = event.message.usage.output_tokens;
            } else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
              text += event.delta.text;
              yield { type: 'delta', text: event.delta.text };
            } else if (event.type === 'message_delta') {
              // output_tokens here is the running total, not an increment.
              outputTokens = event.usage.output_tokens;
              stopReason = event.delta.stop_reason ?? stopReason;
            } else if (event.type === 'message_stop') {
              finished = true;
            }
          }
        } catch (error) {
          deadline.fail(error, toProviderError, timedOut);
        }
        // The SDK ends an aborted stream quietly, so a stall cut off by the deadline shows up here.
        if (deadline.timedOut || deadline.cancelledByCaller) deadline.fail(null, toProviderError, timedOut);
        if (!finished) throw new ProviderError('unavailable', 'The Anthropic stream ended before message_stop.');
        yield {
          type: 'done',
          completion: { text, usage: { inputTokens, outputTokens }, model, stopReason: stopReason ?? 'end_turn' },
        };
      } finally {
        deadline.dispose();
      }
    },
  };
}

/** Everything the model read counts as input, including prompt-cache reads and writes. */
function inputTokensOf(usage: {
  input_tokens: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}): number {
  return (usage.input_tokens ?? 0) + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0);
}
