/**
 * The gateway's subgraph client against a real local HTTP server that counts what reaches it:
 * identical in-flight queries share one call (per caller), mutations never do, nothing is kept
 * after an answer, errors come back as they were sent, and connections are kept alive.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSubgraphFetcher } from '../src/subgraph-fetch.js';

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
const MUTATION = JSON.stringify({ query: 'mutation CompleteLesson__enrollment__0($c:ID!){completeLesson(courseId:$c){id}}', variables: { c: '1' } });
const init = (body: string, authorization?: string) => ({
  method: 'POST',
  body,
  headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
});

describe('the subgraph client', () => {
  it('sends identical queries in flight together once, and gives each caller the answer', async () => {
    const fetcher = createSubgraphFetcher();
    const calls = [fetcher(url, init(QUERY, 'Bearer a')), fetcher(url, init(QUERY, 'Bearer a')), fetcher(url, init(QUERY, 'Bearer a'))];
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
    expect(seen.map((s) => s.authorization).sort()).toEqual(['Bearer a', 'Bearer a', 'Bearer a', 'Bearer b', undefined].sort());
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
