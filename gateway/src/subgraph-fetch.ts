/**
 * How the gateway talks to subgraphs: plain node:http over keep-alive connections (one pool per
 * subgraph), in place of @apollo/gateway's default make-fetch-happen, whose per-request agent and
 * option handling cost more CPU than the subgraph call itself. Identical queries in flight at the
 * same time (same subgraph, same body, same Authorization) share one subgraph call: fifty visitors
 * opening the catalog at once cost the course subgraph one query, not fifty. Nothing is kept after
 * the answer arrives (this is not a cache), and mutations are never shared.
 *
 * It also holds each call to the execution budget: a call that takes longer than `timeoutMs`, or
 * whose answer grows past `maxResponseBytes`, is cut off (the connection is destroyed, so nothing
 * more is read) and fails with a SubgraphFetchError saying which; so does a call whose caller's
 * signal (the request's deadline) fires. A shared call keeps going for the callers still waiting.
 */
import http from 'node:http';
import type { RemoteGraphQLDataSource } from '@apollo/gateway';

type Fetcher = RemoteGraphQLDataSource['fetcher'];

/** Default of `timeoutMs`. */
export const DEFAULT_SUBGRAPH_TIMEOUT_MS = 5_000;
/** Default of `maxResponseBytes`. */
export const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

export interface SubgraphFetchOptions {
  /** Connections kept per subgraph. Default 128. */
  maxSockets?: number;
  /** Share identical in-flight queries. Default true. */
  deduplicate?: boolean;
  /** The longest one subgraph call may take, answer read in full. Default 5 000 ms. */
  timeoutMs?: number;
  /** The largest answer read from a subgraph; a larger one fails the call. Default 8 MiB. */
  maxResponseBytes?: number;
}

/** Why a subgraph call failed without an answer. */
export type SubgraphFetchFailure =
  /** No full answer within the timeout. */
  | 'TIMEOUT'
  /** Connection refused, reset or closed before the answer was complete. */
  | 'UNREACHABLE'
  /** The answer was larger than the gateway reads. */
  | 'RESPONSE_TOO_LARGE'
  /** The caller gave up (its request's deadline passed). */
  | 'ABORTED';

export class SubgraphFetchError extends Error {
  constructor(
    readonly failure: SubgraphFetchFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SubgraphFetchError';
  }
}

interface Limits {
  timeoutMs: number;
  maxResponseBytes: number;
  signal?: AbortSignal | undefined;
}

interface RawAnswer {
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** Just enough of a fetch Response for RemoteGraphQLDataSource (ok, status, headers.get, json, text). */
class SubgraphResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly redirected = false;
  readonly headers: { get(name: string): string | null };
  constructor(
    readonly url: string,
    private readonly answer: RawAnswer,
  ) {
    this.ok = answer.status >= 200 && answer.status < 300;
    this.status = answer.status;
    this.statusText = answer.statusText;
    this.headers = {
      get: (name) => {
        const value = answer.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    };
  }
  async json(): Promise<unknown> {
    return JSON.parse(this.answer.text);
  }
  async text(): Promise<string> {
    return this.answer.text;
  }
  clone(): SubgraphResponse {
    return new SubgraphResponse(this.url, this.answer);
  }
}

function post(
  agent: http.Agent,
  url: URL,
  body: string,
  headers: Record<string, string>,
  limits: Limits,
  retried = false,
): Promise<RawAnswer> {
  const { signal } = limits;
  const abandoned = () =>
    new SubgraphFetchError('ABORTED', `call to ${url.origin} abandoned by its caller`, { cause: signal?.reason });
  if (signal?.aborted) return Promise.reject(abandoned());
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    // Destroying the request destroys its socket: a slow or oversized answer is not read further.
    const fail = (err: SubgraphFetchError) => finish(() => (req.destroy(), reject(err)));
    const onAbort = () => fail(abandoned());
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const declared = Number(res.headers['content-length']);
        if (declared > limits.maxResponseBytes) {
          fail(
            new SubgraphFetchError(
              'RESPONSE_TOO_LARGE',
              `answer of ${declared} bytes from ${url.origin}, over ${limits.maxResponseBytes}`,
            ),
          );
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limits.maxResponseBytes)
            fail(
              new SubgraphFetchError(
                'RESPONSE_TOO_LARGE',
                `answer from ${url.origin} over ${limits.maxResponseBytes} bytes`,
              ),
            );
          else chunks.push(chunk);
        });
        res.on('end', () =>
          finish(() =>
            resolve({
              status: res.statusCode ?? 0,
              statusText: res.statusMessage ?? '',
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          ),
        );
        res.on('error', (err) =>
          fail(
            new SubgraphFetchError('UNREACHABLE', `answer from ${url.origin} failed: ${err.message}`, { cause: err }),
          ),
        );
        // The connection closed before the answer was complete.
        res.on('close', () => {
          if (!res.complete) fail(new SubgraphFetchError('UNREACHABLE', `answer from ${url.origin} cut short`));
        });
      },
    );
    const timer = setTimeout(
      () => fail(new SubgraphFetchError('TIMEOUT', `no answer from ${url.origin} within ${limits.timeoutMs} ms`)),
      limits.timeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      // A kept-alive connection the subgraph closed just as we reused it: the request never
      // reached it, so sending it again on a fresh connection is safe.
      if (!retried && req.reusedSocket && err.code === 'ECONNRESET')
        finish(() => resolve(post(agent, url, body, headers, limits, true)));
      else
        fail(
          new SubgraphFetchError('UNREACHABLE', `call to ${url.origin} failed: ${err.code ?? err.message}`, {
            cause: err,
          }),
        );
    });
    req.end(body);
  });
}

/**
 * One call shared by every caller that asks the same while it is out. A caller may give up (its
 * request's deadline); the call goes on for the others, and is abandoned when none is left.
 */
interface SharedCall {
  answer: Promise<RawAnswer>;
  abandon: AbortController;
  /** Callers still waiting; one without a signal never gives up. */
  waiting: number;
}

function awaitShared(shared: SharedCall, signal: AbortSignal | undefined, origin: string): Promise<RawAnswer> {
  const abandoned = () =>
    new SubgraphFetchError('ABORTED', `call to ${origin} abandoned by its caller`, { cause: signal?.reason });
  if (signal?.aborted) return Promise.reject(abandoned());
  shared.waiting += 1;
  if (!signal) return shared.answer;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      shared.waiting -= 1;
      if (shared.waiting === 0) shared.abandon.abort(signal.reason);
      reject(abandoned());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    shared.answer.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Queries (not mutations or subscriptions), read from the serialised request's leading `query`. */
const isQuery = (body: string) => body.startsWith('{"query":"query') || body.startsWith('{"query":"{');

export function createSubgraphFetcher(options: SubgraphFetchOptions = {}): Fetcher {
  const agents = new Map<string, http.Agent>();
  const inFlight = new Map<string, SharedCall>();
  const deduplicate = options.deduplicate ?? true;
  const timeoutMs = options.timeoutMs ?? DEFAULT_SUBGRAPH_TIMEOUT_MS;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const agentFor = (origin: string) => {
    let agent = agents.get(origin);
    if (!agent) {
      agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 128 });
      agents.set(origin, agent);
    }
    return agent;
  };
  const fetcher = async (input: string, init?: { body?: unknown; headers?: unknown; signal?: AbortSignal }) => {
    const url = new URL(input);
    if (url.protocol !== 'http:') throw new Error(`subgraph URL ${input}: only http: is supported`);
    const body = String(init?.body ?? '');
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const agent = agentFor(url.origin);
    const signal = init?.signal;
    if (!deduplicate || !isQuery(body))
      return new SubgraphResponse(
        input,
        await post(agent, url, body, headers, { timeoutMs, maxResponseBytes, signal }),
      );
    // The answer depends on the query, its variables and who asks; the request id only labels logs.
    const key = `${input}\n${headers.authorization ?? ''}\n${body}`;
    let shared = inFlight.get(key);
    if (!shared) {
      // Shared: no one caller's signal may cut it off for the others; it stops when all have left.
      const abandon = new AbortController();
      const answer = post(agent, url, body, headers, { timeoutMs, maxResponseBytes, signal: abandon.signal }).finally(
        () => inFlight.delete(key),
      );
      // A shared call every caller left rejects with no one listening.
      answer.catch(() => {});
      shared = { answer, abandon, waiting: 0 };
      inFlight.set(key, shared);
    }
    return new SubgraphResponse(input, await awaitShared(shared, signal, url.origin));
  };
  return fetcher as unknown as Fetcher;
}
