/**
 * The execution budget through the gateway's own federation path (supergraph.ts, the subgraph
 * client, the breakers, the request deadline), over two small real subgraphs on local HTTP servers:
 * `books` (the root list) and `extra` (a field of Book and a root field), which misbehaves on
 * demand: it hangs, answers 500, or sends a huge answer. Only extra's fields become null, with one
 * SUBGRAPH_UNAVAILABLE error naming it, and nothing internal reaches the client.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { composeServices } from '@apollo/composition';
import { createLogger, createServiceYoga } from '@coursegraph/service-kit';
import type { GatewayContext } from '../src/context.js';
import { useRequestDeadline } from '../src/execution-budget.js';
import { loadSupergraph, type SubgraphCallOptions } from '../src/supergraph.js';

type Mode = 'ok' | 'hang' | 'error500' | 'huge';
let mode: Mode = 'ok';
let extraCalls = 0;
let extraClosedEarly = 0;
const held = new Set<http.ServerResponse>();
const servers: http.Server[] = [];
let supergraphPath: string;

const BOOKS_SDL = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query { books: [Book!] }
  type Book @key(fields: "id") { id: ID! title: String! }`;
const EXTRA_SDL = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query { motto: String }
  type Book @key(fields: "id") { id: ID! rating: Int }`;

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

beforeAll(async () => {
  const books = createYoga({
    schema: buildSubgraphSchema({
      typeDefs: parse(BOOKS_SDL),
      resolvers: {
        Query: {
          books: () => [
            { id: '1', title: 'Dune' },
            { id: '2', title: 'Emma' },
          ],
        },
      },
    }),
  });
  const extra = createYoga({
    schema: buildSubgraphSchema({
      typeDefs: parse(EXTRA_SDL),
      resolvers: {
        Query: { motto: () => (mode === 'huge' ? 'x'.repeat(200_000) : 'read more') },
        Book: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, rating: Number(ref.id) + 3 }) },
      },
    }),
  });
  const booksUrl = await serve(books);
  const extraUrl = await serve((req, res) => {
    extraCalls += 1;
    if (mode === 'hang') {
      held.add(res);
      res.on('close', () => {
        if (!res.writableFinished) extraClosedEarly += 1;
      });
      return;
    }
    if (mode === 'error500') {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('panic at /srv/extra/main.rs:12, db at 10.1.2.3');
      return;
    }
    void extra(req, res);
  });
  const composed = composeServices([
    { name: 'books', url: booksUrl, typeDefs: parse(BOOKS_SDL) },
    { name: 'extra', url: extraUrl, typeDefs: parse(EXTRA_SDL) },
  ]);
  if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
  supergraphPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cg-budget-')), 'supergraph.graphql');
  fs.writeFileSync(supergraphPath, composed.supergraphSdl);
});

afterAll(async () => {
  for (const res of held) res.destroy();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  fs.rmSync(path.dirname(supergraphPath), { recursive: true, force: true });
});

beforeEach(() => {
  mode = 'ok';
  extraCalls = 0;
  extraClosedEarly = 0;
});

/** A gateway over the test supergraph with `options`, and a way to ask it. */
async function gatewayWith(options: SubgraphCallOptions, requestTimeoutMs = 10_000) {
  const logger = createLogger('test', 'silent');
  const supergraph = await loadSupergraph(supergraphPath, { logger, ...options });
  const yoga = createServiceYoga<GatewayContext>({
    schema: supergraph.current().apiSchema,
    logger,
    context: async () => ({ requestId: '', viewer: null, accessToken: null }),
    plugins: [supergraph.plugin(), useRequestDeadline(requestTimeoutMs)],
  });
  const ask = async (query: string) => {
    const res = await yoga.fetch('http://gateway/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    return { status: res.status, text: await res.text() };
  };
  return { ask, breakerStates: supergraph.breakerStates, close: supergraph.dispose };
}

const QUERY = '{ books { title rating } motto }';
const WHOLE = {
  data: {
    books: [
      { title: 'Dune', rating: 4 },
      { title: 'Emma', rating: 5 },
    ],
    motto: 'read more',
  },
};
const PARTIAL = {
  books: [
    { title: 'Dune', rating: null },
    { title: 'Emma', rating: null },
  ],
  motto: null,
};

function expectExtraUnavailable(answer: { status: number; text: string }, reason: string) {
  expect(answer.status).toBe(200);
  const body = JSON.parse(answer.text);
  expect(body.data).toEqual(PARTIAL);
  // One error for the subgraph, though two calls to it failed (the entity fetch and the root field).
  expect(body.errors).toEqual([
    {
      message: expect.stringContaining('extra service'),
      extensions: { code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'extra', reason },
    },
  ]);
  for (const internal of ['127.0.0.1', '10.1.2.3', 'main.rs', 'ECONN', 'serviceName', 'stack'])
    expect(answer.text).not.toContain(internal);
}

describe('the execution budget at the gateway', () => {
  it('answers whole when every subgraph answers', async () => {
    const gw = await gatewayWith({ subgraphTimeoutMs: 2_000 });
    expect(JSON.parse((await gw.ask(QUERY)).text)).toEqual(WHOLE);
    await gw.close();
  });

  it(
    'a subgraph that does not answer in time: its fields null, the rest arrives, its connection closed',
    { timeout: 15_000 },
    async () => {
      const gw = await gatewayWith({ subgraphTimeoutMs: 200, breakerFailures: 10 });
      mode = 'hang';
      const answer = await gw.ask(QUERY);
      expectExtraUnavailable(answer, 'TIMEOUT');
      expect(JSON.parse(answer.text).errors[0].message).toBe('The extra service is unavailable; its fields are null.');
      await vi.waitFor(() => expect(extraClosedEarly).toBe(2));
      await gw.close();
    },
  );

  it(
    "with @apollo/gateway's own fetcher (GATEWAY_SUBGRAPH_CLIENT=apollo) a hanging subgraph times out too",
    { timeout: 15_000 },
    async () => {
      const gw = await gatewayWith({ subgraphClient: 'apollo', subgraphTimeoutMs: 200, breakerFailures: 10 });
      mode = 'hang';
      const answer = JSON.parse((await gw.ask(QUERY)).text);
      expect(answer.data).toEqual(PARTIAL);
      expect(answer.errors).toEqual([
        expect.objectContaining({
          extensions: expect.objectContaining({ code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'extra' }),
        }),
      ]);
      await gw.close();
    },
  );

  it('a 5xx answer: its fields null, and its body never reaches the client', async () => {
    const gw = await gatewayWith({ breakerFailures: 10 });
    mode = 'error500';
    expectExtraUnavailable(await gw.ask(QUERY), 'SERVER_ERROR');
    await gw.close();
  });

  it('an answer over the size cap: cut off, its fields null', async () => {
    const gw = await gatewayWith({ maxResponseBytes: 50_000 });
    mode = 'huge';
    const answer = JSON.parse((await gw.ask('{ books { title } motto }')).text);
    expect(answer.data).toEqual({ books: [{ title: 'Dune' }, { title: 'Emma' }], motto: null });
    expect(answer.errors).toEqual([
      {
        message: "The extra service's answer is larger than the gateway accepts; its fields are null.",
        extensions: { code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'extra', reason: 'RESPONSE_TOO_LARGE' },
      },
    ]);
    await gw.close();
  });

  it(
    'failures in a row open the circuit: the subgraph is not called until the probe, which closes it',
    { timeout: 15_000 },
    async () => {
      const gw = await gatewayWith({ breakerFailures: 2, breakerOpenMs: 300 });
      mode = 'error500';
      // One request makes two failing calls (entity fetch and root field): the circuit opens.
      expectExtraUnavailable(await gw.ask(QUERY), 'SERVER_ERROR');
      expect(gw.breakerStates()).toEqual({ books: 'closed', extra: 'open' });
      const calls = extraCalls;
      expectExtraUnavailable(await gw.ask(QUERY), 'CIRCUIT_OPEN');
      expect(extraCalls).toBe(calls);
      mode = 'ok';
      await vi.waitFor(() => expect(gw.breakerStates().extra).toBe('half-open'), { timeout: 5_000 });
      await vi.waitFor(async () => expect(JSON.parse((await gw.ask(QUERY)).text)).toEqual(WHOLE), { timeout: 5_000 });
      expect(gw.breakerStates().extra).toBe('closed');
      await gw.close();
    },
  );

  it(
    "the request's deadline abandons its outstanding calls, without counting against the subgraph",
    { timeout: 15_000 },
    async () => {
      const gw = await gatewayWith({ subgraphTimeoutMs: 10_000, breakerFailures: 1 }, 300);
      mode = 'hang';
      const answer = await gw.ask(QUERY);
      expectExtraUnavailable(answer, 'REQUEST_TIMEOUT');
      expect(JSON.parse(answer.text).errors[0].message).toBe(
        'The request ran out of time before the extra service answered; its fields are null.',
      );
      // Abandoned, not left running: the subgraph sees both calls go away.
      await vi.waitFor(() => expect(extraClosedEarly).toBe(2));
      expect(gw.breakerStates().extra).toBe('closed');
      await gw.close();
    },
  );
});
