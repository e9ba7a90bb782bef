/**
 * A local server that speaks Anthropic's Messages API (POST /v1/messages, JSON and SSE streaming) and the
 * common embeddings API (POST /v1/embeddings, as Voyage AI and OpenAI-compatible servers speak it), so the
 * real provider adapters are tested over real HTTP without a network or a key.
 *
 * Replies are deterministic: the text comes from `reply(body)` (an echo of the last user message by
 * default) and usage counts words. Faults are scripted per request: `script([...])` queues one fault for
 * each of the next requests (429/529/5xx with retry-after, a wrong key, slow headers, a stream that
 * stalls or fails mid-way, a dropped connection).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The key the server accepts unless told another. */
export const TEST_API_KEY = 'sk-test-coursegraph-local';

/**
 * The `anthropic-version` values the server knows. @anthropic-ai/sdk 1.x sends 2026-10-21, which refuses
 * `temperature`, `top_p` and `top_k` (Anthropic's migration guide); 2023-06-01 is the version before it.
 */
export const ANTHROPIC_VERSIONS = ['2023-06-01', '2026-10-21'] as const;

const SAMPLING_PARAMETERS = ['temperature', 'top_p', 'top_k'];

/** What one of the next requests gets instead of a normal reply. */
export type MessagesApiFault =
  /** An error status in the route's error shape; `retryAfterSeconds`/`retryAfterMs` set the headers. */
  | {
      kind: 'error';
      status: number;
      errorType?: string;
      message?: string;
      retryAfterSeconds?: number;
      retryAfterMs?: number;
    }
  /** The normal reply, but its headers only after `delayMs`. */
  | { kind: 'slow'; delayMs: number }
  /** A stream that sends `afterDeltas` text deltas and then nothing, holding the connection open. A non-streaming request never gets an answer. */
  | { kind: 'stall'; afterDeltas: number }
  /** A stream that sends `afterDeltas` text deltas and then an SSE `error` event (Anthropic's mid-stream errors). */
  | { kind: 'stream_error'; afterDeltas: number; errorType: string }
  /** The connection is destroyed before any answer (a network failure). */
  | { kind: 'disconnect' };

/** A request as the server received it; headers that carry a key have their value replaced. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** The parsed JSON body, or the raw text when it was not JSON. */
  body: unknown;
  /** When it arrived, in ms on the `performance.timeOrigin + performance.now()` scale. */
  receivedAt: number;
  /** The scripted fault it got, if any. */
  fault?: MessagesApiFault['kind'];
}

/** The parts of a Messages API request body the server reads (already validated). */
export interface MessagesRequestBody {
  model: string;
  max_tokens: number;
  messages: Array<{ role: 'user' | 'assistant'; content: string | Array<{ type: string; text?: string }> }>;
  system?: string | Array<{ type: string; text?: string }>;
  stream?: boolean;
  [other: string]: unknown;
}

export interface MessagesApiServerOptions {
  /** The accepted key: `x-api-key` or `Authorization: Bearer` for messages (the SDK sends the latter), bearer for embeddings. */
  apiKey?: string;
  /** The assistant's whole reply to a request (truncated to `max_tokens` words). Default: an echo. */
  reply?: (body: MessagesRequestBody) => string;
  /** Length of the vectors /v1/embeddings returns. Default 64. */
  embeddingDimensions?: number;
  /** Pause between streamed deltas, so clients see a reply being written. Default 0. */
  deltaDelayMs?: number;
  /** Larger bodies get 413 `request_too_large`. Default 32 MB, Anthropic's limit for the Messages API. */
  maxBodyBytes?: number;
}

export interface MessagesApiServer {
  /** Base URL, e.g. `http://127.0.0.1:41234` (give it to the SDK as `baseURL`). */
  url: string;
  /** Every request received, in order. */
  requests: ReceivedRequest[];
  /** Queue faults: the next request gets the first, the one after the second, and so on. */
  script(faults: MessagesApiFault[]): void;
  close(): Promise<void>;
}

const KEY_HEADERS = new Set(['x-api-key', 'authorization']);

/** Anthropic's error type for a status (https://docs.anthropic.com/en/api/errors). */
const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

/** The last user message's text, echoed: deterministic and visibly tied to the request. */
function echoReply(body: MessagesRequestBody): string {
  const lastUser = [...body.messages].reverse().find((message) => message.role === 'user');
  return `You said: ${lastUser ? contentText(lastUser.content) : ''}`;
}

function contentText(content: string | Array<{ type: string; text?: string }>): string {
  return typeof content === 'string' ? content : content.map((block) => block.text ?? '').join('\n');
}

/** The server's unit of text: a word with the whitespace after it. Deltas are words; usage counts them. */
function words(text: string): string[] {
  const pieces = text.match(/\S+\s*/g) ?? [];
  const leading = /^\s+/.exec(text)?.[0] ?? '';
  if (leading && pieces.length > 0) pieces[0] = leading + pieces[0];
  return pieces;
}

/** Why a Messages API body is refused, or null when it is well formed. */
function messagesBodyProblem(body: unknown, version: string): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'The body must be a JSON object.';
  const record = body as Record<string, unknown>;
  const sampling = version === '2026-10-21' && SAMPLING_PARAMETERS.find((name) => name in record);
  if (sampling) return `${sampling}: Extra inputs are not permitted`;
  if (typeof record.model !== 'string' || record.model === '') return 'model: Field required';
  if (!Number.isInteger(record.max_tokens) || (record.max_tokens as number) < 1)
    return 'max_tokens: must be an integer of at least 1';
  if (!Array.isArray(record.messages) || record.messages.length === 0)
    return 'messages: at least one message is required';
  for (const [index, message] of record.messages.entries()) {
    const { role, content } = (message ?? {}) as Record<string, unknown>;
    if (role !== 'user' && role !== 'assistant') return `messages.${index}.role: must be "user" or "assistant"`;
    const textBlocks = Array.isArray(content) && content.every((block) => typeof block?.type === 'string');
    if (typeof content !== 'string' && !textBlocks)
      return `messages.${index}.content: must be a string or content blocks`;
  }
  if (record.system !== undefined && typeof record.system !== 'string' && !Array.isArray(record.system))
    return 'system: must be a string or text blocks';
  return null;
}

/** A vector from the text's words by signed feature hashing: deterministic, similar texts point alike, not unit length. */
export function hashedEmbedding(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    let hash = 0x811c9dc5; // FNV-1a
    for (let i = 0; i < word.length; i++) hash = Math.imul(hash ^ word.charCodeAt(i), 0x01000193) >>> 0;
    vector[hash % dimensions]! += hash & 0x80000000 ? -3 : 3;
  }
  if (!vector.some((value) => value !== 0)) vector[0] = 1; // no words, or they cancelled out
  return vector;
}

export async function startMessagesApiServer(options: MessagesApiServerOptions = {}): Promise<MessagesApiServer> {
  const apiKey = options.apiKey ?? TEST_API_KEY;
  const reply = options.reply ?? echoReply;
  const dimensions = options.embeddingDimensions ?? 64;
  const deltaDelayMs = options.deltaDelayMs ?? 0;
  const maxBodyBytes = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const requests: ReceivedRequest[] = [];
  const faults: MessagesApiFault[] = [];
  let served = 0;

  const server = http.createServer((req, res) => {
    const receivedAt = performance.timeOrigin + performance.now();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) chunks.push(chunk);
    });
    req.on('end', () => {
      served += 1;
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        // kept as text; the route refuses it below
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value === undefined) continue;
        headers[name] = KEY_HEADERS.has(name) ? '[redacted]' : Array.isArray(value) ? value.join(', ') : value;
      }
      const fault = faults.shift();
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      requests.push({ method: req.method ?? 'GET', path, headers, body, receivedAt, fault: fault?.kind });
      void route(req, res, { path, raw, body, tooLarge: size > maxBodyBytes, fault, id: served }).catch(() =>
        res.destroy(),
      );
    });
  });

  interface Incoming {
    path: string;
    raw: string;
    body: unknown;
    tooLarge: boolean;
    fault: MessagesApiFault | undefined;
    id: number;
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse, incoming: Incoming): Promise<void> {
    const { path, fault } = incoming;
    const embeddings = path === '/v1/embeddings';
    const sendError = embeddings ? sendEmbeddingsError : sendAnthropicError;
    if (req.method !== 'POST' || (path !== '/v1/messages' && !embeddings)) {
      return sendError(res, 404, 'not_found_error', `No route for ${req.method} ${path}.`);
    }
    if (fault?.kind === 'disconnect') return void res.socket?.destroy();
    if (fault?.kind === 'error') {
      const retryHeaders: Record<string, string> = {};
      if (fault.retryAfterSeconds !== undefined) retryHeaders['retry-after'] = String(fault.retryAfterSeconds);
      if (fault.retryAfterMs !== undefined) retryHeaders['retry-after-ms'] = String(fault.retryAfterMs);
      const type = fault.errorType ?? ERROR_TYPES[fault.status] ?? 'api_error';
      return sendError(res, fault.status, type, fault.message ?? `Scripted ${fault.status} (${type}).`, retryHeaders);
    }
    if (fault?.kind === 'slow' && !(await waitUnlessClosed(res, fault.delayMs))) return;
    const streamingRequest = !embeddings && (incoming.body as { stream?: unknown })?.stream === true;
    if (fault?.kind === 'stall' && !streamingRequest) return; // a request that is never answered

    if (embeddings) {
      if (req.headers.authorization !== `Bearer ${apiKey}`)
        return sendEmbeddingsError(res, 401, 'authentication_error', 'Invalid or missing bearer token.');
      return answerEmbeddings(res, incoming);
    }
    if (req.headers['x-api-key'] !== apiKey && req.headers.authorization !== `Bearer ${apiKey}`)
      return sendAnthropicError(res, 401, 'authentication_error', 'invalid x-api-key');
    const version = req.headers['anthropic-version'];
    if (version === undefined)
      return sendAnthropicError(res, 400, 'invalid_request_error', 'anthropic-version: header is required');
    if (!(ANTHROPIC_VERSIONS as readonly string[]).includes(String(version)))
      return sendAnthropicError(
        res,
        400,
        'invalid_request_error',
        `anthropic-version: unknown version ${String(version)}`,
      );
    if (incoming.tooLarge)
      return sendAnthropicError(
        res,
        413,
        'request_too_large',
        `Request exceeds the maximum size of ${maxBodyBytes} bytes.`,
      );
    if (typeof incoming.body === 'string')
      return sendAnthropicError(res, 400, 'invalid_request_error', 'The body is not valid JSON.');
    const problem = messagesBodyProblem(incoming.body, String(version));
    if (problem) return sendAnthropicError(res, 400, 'invalid_request_error', problem);
    return answerMessages(res, incoming.body as MessagesRequestBody, incoming.id, fault);
  }

  async function answerMessages(
    res: http.ServerResponse,
    body: MessagesRequestBody,
    id: number,
    fault: MessagesApiFault | undefined,
  ): Promise<void> {
    const all = words(reply(body));
    const kept = all.slice(0, body.max_tokens);
    const stopReason = kept.length < all.length ? 'max_tokens' : 'end_turn';
    const system = body.system === undefined ? '' : contentText(body.system);
    const inputTokens =
      words(system).length + body.messages.reduce((sum, m) => sum + words(contentText(m.content)).length, 0);
    const messageId = `msg_local_${String(id).padStart(6, '0')}`;
    const message = {
      id: messageId,
      type: 'message',
      role: 'assistant',
      model: body.model,
      content: [] as Array<{ type: 'text'; text: string }>,
      stop_reason: null as string | null,
      stop_sequence: null,
      usage: { input_tokens: inputTokens, output_tokens: 1 },
    };
    const requestId = `req_local_${String(id).padStart(6, '0')}`;

    if (body.stream !== true) {
      const text = kept.join('');
      sendJson(
        res,
        200,
        {
          ...message,
          content: [{ type: 'text', text }],
          stop_reason: stopReason,
          usage: { input_tokens: inputTokens, output_tokens: kept.length },
        },
        { 'request-id': requestId },
      );
      return;
    }

    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'request-id': requestId,
    });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('message_start', { type: 'message_start', message });
    send('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    send('ping', { type: 'ping' });
    for (const [index, word] of kept.entries()) {
      if (fault?.kind === 'stall' && index === fault.afterDeltas) return; // nothing more; the client gives up
      if (fault?.kind === 'stream_error' && index === fault.afterDeltas) {
        send('error', {
          type: 'error',
          error: { type: fault.errorType, message: `Scripted ${fault.errorType} mid-stream.` },
        });
        return void res.end();
      }
      if (deltaDelayMs > 0 && !(await waitUnlessClosed(res, deltaDelayMs))) return;
      send('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: word } });
    }
    if (fault?.kind === 'stall') return; // asked to stall after the last delta
    send('content_block_stop', { type: 'content_block_stop', index: 0 });
    send('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: kept.length },
    });
    send('message_stop', { type: 'message_stop' });
    res.end();
  }

  function answerEmbeddings(res: http.ServerResponse, incoming: Incoming): void {
    const body = incoming.body as { input?: unknown; model?: unknown } | string;
    if (typeof body !== 'object' || body === null)
      return sendEmbeddingsError(res, 400, 'invalid_request_error', 'The body is not a JSON object.');
    const input = typeof body.input === 'string' ? [body.input] : body.input;
    if (!Array.isArray(input) || input.length === 0 || !input.every((text) => typeof text === 'string' && text !== ''))
      return sendEmbeddingsError(
        res,
        400,
        'invalid_request_error',
        'input: must be a non-empty string or a non-empty array of non-empty strings',
      );
    if (typeof body.model !== 'string' || body.model === '')
      return sendEmbeddingsError(res, 400, 'invalid_request_error', 'model: Field required');
    const texts = input as string[];
    const tokens = texts.reduce((sum, text) => sum + words(text).length, 0);
    sendJson(res, 200, {
      object: 'list',
      data: texts.map((text, index) => ({ object: 'embedding', embedding: hashedEmbedding(text, dimensions), index })),
      model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (more) => void faults.push(...more),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections(); // stalled streams and slow replies would hold close() forever
        server.close(() => resolve());
      }),
  };
}

/** Waits `ms` unless the client goes away first; false when it did (then nothing more is sent). */
function waitUnlessClosed(res: http.ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(true);
    }, ms);
    res.once('close', onClose);
  });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Anthropic's error shape: `{ type: 'error', error: { type, message }, request_id }`. */
function sendAnthropicError(
  res: http.ServerResponse,
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  const requestId = `req_local_error_${status}`;
  sendJson(
    res,
    status,
    { type: 'error', error: { type, message }, request_id: requestId },
    { 'request-id': requestId, ...headers },
  );
}

/** The OpenAI-compatible error shape embeddings servers use: `{ error: { message, type } }`. */
function sendEmbeddingsError(
  res: http.ServerResponse,
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { error: { message, type } }, headers);
}
