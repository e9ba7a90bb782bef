/**
 * How the gateway talks to subgraphs: plain node:http over keep-alive connections (one pool per
 * subgraph), in place of @apollo/gateway's default make-fetch-happen, whose per-request agent and
 * option handling cost more CPU than the subgraph call itself. Identical queries in flight at the
 * same time (same subgraph, same body, same Authorization) share one subgraph call: fifty visitors
 * opening the catalog at once cost the course subgraph one query, not fifty. Nothing is kept after
 * the answer arrives (this is not a cache), and mutations are never shared.
 */
import http from 'node:http';
import type { RemoteGraphQLDataSource } from '@apollo/gateway';

type Fetcher = RemoteGraphQLDataSource['fetcher'];

export interface SubgraphFetchOptions {
  /** Connections kept per subgraph. Default 128. */
  maxSockets?: number;
  /** Share identical in-flight queries. Default true. */
  deduplicate?: boolean;
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
  constructor(readonly url: string, private readonly answer: RawAnswer) {
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

function post(agent: http.Agent, url: URL, body: string, headers: Record<string, string>, retried = false): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // A kept-alive connection the subgraph closed just as we reused it: the request never
      // reached it, so sending it again on a fresh connection is safe.
      if (!retried && req.reusedSocket && err.code === 'ECONNRESET') resolve(post(agent, url, body, headers, true));
      else reject(err);
    });
    req.end(body);
  });
}

/** Queries (not mutations or subscriptions), read from the serialised request's leading `query`. */
const isQuery = (body: string) => body.startsWith('{"query":"query') || body.startsWith('{"query":"{');

export function createSubgraphFetcher(options: SubgraphFetchOptions = {}): Fetcher {
  const agents = new Map<string, http.Agent>();
  const inFlight = new Map<string, Promise<RawAnswer>>();
  const deduplicate = options.deduplicate ?? true;
  const agentFor = (origin: string) => {
    let agent = agents.get(origin);
    if (!agent) {
      agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 128 });
      agents.set(origin, agent);
    }
    return agent;
  };
  const fetcher = async (input: string, init?: { body?: unknown; headers?: unknown }) => {
    const url = new URL(input);
    if (url.protocol !== 'http:') throw new Error(`subgraph URL ${input}: only http: is supported`);
    const body = String(init?.body ?? '');
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const agent = agentFor(url.origin);
    if (!deduplicate || !isQuery(body)) return new SubgraphResponse(input, await post(agent, url, body, headers));
    // The answer depends on the query, its variables and who asks; the request id only labels logs.
    const key = `${input}\n${headers.authorization ?? ''}\n${body}`;
    let answer = inFlight.get(key);
    if (!answer) {
      answer = post(agent, url, body, headers).finally(() => inFlight.delete(key));
      inFlight.set(key, answer);
    }
    return new SubgraphResponse(input, await answer);
  };
  return fetcher as unknown as Fetcher;
}
