/**
 * The gateway's subgraph client against a real local HTTP server that counts what reaches it:
 * identical in-flight queries share one call (per caller), mutations never do, nothing is kept
 * after an answer, errors come back as they were sent, and connections are kept alive. Then the
 * execution budget, against a server that misbehaves on purpose: one that never answers, one that
 * resets the connection, one that sends a huge answer (declared or streamed), and a caller that
 * gives up while a shared call is still out.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { SubgraphFetchError, createSubgraphFetcher } from '../src/subgraph-fetch.js';

interface Seen {
  body: string;
  authorization: string | undefined;
  remotePort: number | undefined;
}

let server: http.Server;
let url: string;
let seen: Seen[] = [];
/** Answers wait for this, so concurrent calls are really in flight together. */
let release: () => void = () => {};
let gate: Promise<void> = Promise.resolve();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ body, authorization: req.headers.authorization, remotePort: req.socket.remotePort });
      await gate;
      if (req.headers.authorization === 'Bearer refused') {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message: 'no' }] }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=5' });
      res.end(JSON.stringify({ data: { call: seen.length } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  seen = [];
  gate = new Promise((resolve) => (release = resolve));
});

const QUERY = JSON.stringify({ query: 'query Catalog__course__0{catalog{totalCount}}', variables: {} });
const MUTATION = JSON.stringify({
  query: 'mutation CompleteLesson__enrollment__0($c:ID!){completeLesson(courseId:$c){id}}',
  variables: { c: '1' },
});
const init = (body: string, authorization?: string) => ({
  method: 'POST',
  body,
  headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
});

describe('the subgraph client', () => {
  it('sends identical queries in flight together once, and gives each caller the answer', async () => {
    const fetcher = createSubgraphFetcher();
    const calls = [
      fetcher(url, init(QUERY, 'Bearer a')),
      fetcher(url, init(QUERY, 'Bearer a')),
      fetcher(url, init(QUERY, 'Bearer a')),
    ];
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    const answers = await Promise.all(calls);
    expect(seen).toHaveLength(1);
    for (const answer of answers) {
      expect(answer.ok).toBe(true);
      expect(await answer.json()).toEqual({ data: { call: 1 } });
      expect(answer.headers.get('Cache-Control')).toBe('max-age=5');
    }
  });

  it('never shares between callers, mutations, or a query asked after the answer came', async () => {
    const fetcher = createSubgraphFetcher();
    const calls = [
      fetcher(url, init(QUERY, 'Bearer a')),
      fetcher(url, init(QUERY, 'Bearer b')),
      fetcher(url, init(QUERY)),
      fetcher(url, init(MUTATION, 'Bearer a')),
      fetcher(url, init(MUTATION, 'Bearer a')),
    ];
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    await Promise.all(calls);
    expect(seen.map((s) => s.authorization).sort()).toEqual(
      ['Bearer a', 'Bearer a', 'Bearer a', 'Bearer b', undefined].sort(),
    );
    await fetcher(url, init(QUERY, 'Bearer a'));
    expect(seen).toHaveLength(6);
  });

  it('sends every call itself when deduplication is off', async () => {
    const fetcher = createSubgraphFetcher({ deduplicate: false });
    release();
    await Promise.all([fetcher(url, init(QUERY, 'Bearer a')), fetcher(url, init(QUERY, 'Bearer a'))]);
    expect(seen).toHaveLength(2);
  });

  it('returns an error status and body as the subgraph sent them', async () => {
    const fetcher = createSubgraphFetcher();
    release();
    const answer = await fetcher(url, init(QUERY, 'Bearer refused'));
    expect(answer.ok).toBe(false);
    expect(answer.status).toBe(401);
    expect(await answer.text()).toBe(JSON.stringify({ errors: [{ message: 'no' }] }));
  });

  it('keeps the connection alive between calls', async () => {
    const fetcher = createSubgraphFetcher();
    release();
    for (let i = 0; i < 3; i++) await fetcher(url, init(MUTATION, 'Bearer a'));
    expect(new Set(seen.map((s) => s.remotePort)).size).toBe(1);
  });
});

describe('the subgraph client within its budget', () => {
  let bad: http.Server;
  let base: string;
  /** Requests the misbehaving server got, and the sockets it holds open without answering. */
  let hits = 0;
  const held = new Set<http.ServerResponse>();
  let closedByClient = 0;

  beforeAll(async () => {
    bad = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        hits += 1;
        res.on('close', () => {
          if (!res.writableFinished) closedByClient += 1;
        });
        switch (req.url) {
          case '/hang':
            held.add(res);
            return;
          case '/reset':
            req.socket.destroy();
            return;
          case '/huge-declared':
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(64 * 1024 * 1024) });
            res.write('{"data":{"x":"');
            held.add(res);
            return;
          case '/huge-streamed': {
            // Chunked, no length declared: 1 MiB chunks for as long as the client reads.
            res.writeHead(200, { 'content-type': 'application/json' });
            const chunk = Buffer.alloc(1024 * 1024, 'a');
            const pump = () => {
              while (!res.destroyed && res.write(chunk));
              if (!res.destroyed) res.once('drain', pump);
            };
            res.write('{"data":{"x":"');
            pump();
            return;
          }
          case '/half':
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
            res.write('{"data":');
            setTimeout(() => req.socket.destroy(), 10);
            return;
          case '/server-error':
            res.writeHead(503, { 'content-type': 'text/plain' }).end('down for maintenance at 10.0.0.7');
            return;
          default:
            res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"ok":true}}');
        }
      });
    });
    await new Promise<void>((resolve) => bad.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(bad.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const res of held) res.destroy();
    bad.closeAllConnections();
    await new Promise<void>((resolve) => bad.close(() => resolve()));
  });

  beforeEach(() => {
    hits = 0;
    closedByClient = 0;
  });

  const failureOf = async (call: Promise<unknown>) => {
    const err = await call.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SubgraphFetchError);
    return (err as SubgraphFetchError).failure;
  };

  it('gives up on a subgraph that never answers, and closes that connection', { timeout: 10_000 }, async () => {
    const fetcher = createSubgraphFetcher({ timeoutMs: 100 });
    expect(await failureOf(fetcher(`${base}/hang`, init(QUERY)))).toBe('TIMEOUT');
    await vi.waitFor(() => expect(closedByClient).toBe(1));
  });

  it('reports a reset or cut-short connection as unreachable', async () => {
    const fetcher = createSubgraphFetcher({ timeoutMs: 5_000 });
    expect(await failureOf(fetcher(`${base}/reset`, init(MUTATION)))).toBe('UNREACHABLE');
    expect(await failureOf(fetcher(`${base}/half`, init(MUTATION)))).toBe('UNREACHABLE');
    expect(await failureOf(fetcher('http://127.0.0.1:1/graphql', init(MUTATION)))).toBe('UNREACHABLE');
  });

  it('refuses an answer declared larger than the cap without reading it', async () => {
    const fetcher = createSubgraphFetcher({ maxResponseBytes: 1024 * 1024 });
    expect(await failureOf(fetcher(`${base}/huge-declared`, init(QUERY)))).toBe('RESPONSE_TOO_LARGE');
    await vi.waitFor(() => expect(closedByClient).toBe(1));
  });

  it('stops reading a streamed answer once it passes the cap', { timeout: 20_000 }, async () => {
    const fetcher = createSubgraphFetcher({ maxResponseBytes: 2 * 1024 * 1024, timeoutMs: 15_000 });
    expect(await failureOf(fetcher(`${base}/huge-streamed`, init(QUERY)))).toBe('RESPONSE_TOO_LARGE');
    // The server sees its client go away: it is not read to the end.
    await vi.waitFor(() => expect(closedByClient).toBe(1));
  });

  it('hands a 5xx answer back as it came (the data source decides), and a good one after it', async () => {
    const fetcher = createSubgraphFetcher();
    const answer = await fetcher(`${base}/server-error`, init(QUERY));
    expect(answer.status).toBe(503);
    expect((await fetcher(`${base}/ok`, init(QUERY))).ok).toBe(true);
  });

  it("abandons a call when its caller's signal fires", { timeout: 10_000 }, async () => {
    const fetcher = createSubgraphFetcher({ timeoutMs: 5_000, deduplicate: false });
    const controller = new AbortController();
    const call = fetcher(`${base}/hang`, { ...init(QUERY), signal: controller.signal } as Parameters<
      typeof fetcher
    >[1]);
    await vi.waitFor(() => expect(hits).toBe(1));
    controller.abort();
    expect(await failureOf(call)).toBe('ABORTED');
    await vi.waitFor(() => expect(closedByClient).toBe(1));
    // A signal that already fired sends nothing.
    expect(
      await failureOf(
        fetcher(`${base}/ok`, { ...init(QUERY), signal: controller.signal } as Parameters<typeof fetcher>[1]),
      ),
    ).toBe('ABORTED');
    expect(hits).toBe(1);
  });

  it(
    'lets one caller of a shared call give up without cutting it off for the others',
    { timeout: 10_000 },
    async () => {
      const fetcher = createSubgraphFetcher({ timeoutMs: 5_000 });
      seen = [];
      gate = new Promise((resolve) => (release = resolve));
      const controller = new AbortController();
      const leaving = fetcher(url, { ...init(QUERY, 'Bearer s'), signal: controller.signal } as Parameters<
        typeof fetcher
      >[1]);
      const staying = fetcher(url, init(QUERY, 'Bearer s'));
      await vi.waitFor(() => expect(seen).toHaveLength(1));
      controller.abort();
      expect(await failureOf(leaving)).toBe('ABORTED');
      release();
      const answer = await staying;
      expect(await answer.json()).toEqual({ data: { call: 1 } });
      expect(seen).toHaveLength(1);
    },
  );

  it('abandons a shared call once every caller has given up', { timeout: 10_000 }, async () => {
    const fetcher = createSubgraphFetcher({ timeoutMs: 5_000 });
    const first = new AbortController();
    const second = new AbortController();
    const calls = [first, second].map((c) =>
      fetcher(`${base}/hang`, { ...init(QUERY, 'Bearer t'), signal: c.signal } as Parameters<typeof fetcher>[1]),
    );
    await vi.waitFor(() => expect(hits).toBe(1));
    first.abort();
    expect(await failureOf(calls[0]!)).toBe('ABORTED');
    expect(closedByClient).toBe(0);
    second.abort();
    expect(await failureOf(calls[1]!)).toBe('ABORTED');
    await vi.waitFor(() => expect(closedByClient).toBe(1));
  });
});
