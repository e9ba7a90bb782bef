/**
 * Sharing identical in-flight query operations, on a tiny yoga schema whose resolvers count their
 * calls and wait until released: identical queries by one caller run once and each gets the
 * answer; another caller, other variables, a mutation, or a query after the answer run anew.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createSchema, createYoga } from 'graphql-yoga';
import { useShareInFlightQueries } from '../src/share-in-flight-queries.js';
import { serializeOnce } from '../src/document-text.js';
import type { GatewayContext } from '../src/context.js';

let calls = 0;
let release: () => void = () => {};
let gate: Promise<void> = Promise.resolve();

const schema = createSchema<GatewayContext>({
  typeDefs: `type Query { page(n: Int): String! } type Mutation { touch: Int! }`,
  resolvers: {
    Query: {
      page: async (_: unknown, { n }: { n?: number }, ctx: GatewayContext) => (
        calls++,
        await gate,
        `page ${n ?? 0} for ${ctx.accessToken ?? 'anyone'}`
      ),
    },
    Mutation: { touch: async () => (await gate, ++calls) },
  },
});

const yoga = createYoga<Record<string, never>, GatewayContext>({
  schema,
  context: ({ request }) => ({ requestId: '', viewer: null, accessToken: request.headers.get('authorization') }),
  plugins: [useShareInFlightQueries()],
});

const send = async (query: string, variables: Record<string, unknown> = {}, authorization?: string) => {
  const res = await yoga.fetch('http://gateway/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
};
const settle = async <T>(pending: Promise<T>[]) => {
  await new Promise((resolve) => setTimeout(resolve, 30));
  release();
  return Promise.all(pending);
};

beforeEach(() => {
  calls = 0;
  gate = new Promise((resolve) => (release = resolve));
});

describe('sharing identical in-flight queries', () => {
  it('runs identical queries by one caller once and gives each the answer', async () => {
    const answers = await settle([1, 2, 3].map(() => send('query($n: Int) { page(n: $n) }', { n: 2 }, 'token-a')));
    expect(calls).toBe(1);
    expect(answers).toEqual([1, 2, 3].map(() => ({ data: { page: 'page 2 for token-a' } })));
  });

  it('runs anew for another caller, other variables, and after the answer came', async () => {
    const answers = await settle([
      send('query($n: Int) { page(n: $n) }', { n: 2 }, 'token-a'),
      send('query($n: Int) { page(n: $n) }', { n: 2 }, 'token-b'),
      send('query($n: Int) { page(n: $n) }', { n: 3 }, 'token-a'),
      send('query($n: Int) { page(n: $n) }', { n: 2 }),
    ]);
    expect(calls).toBe(4);
    expect(answers.map((a: any) => a.data.page)).toEqual([
      'page 2 for token-a',
      'page 2 for token-b',
      'page 3 for token-a',
      'page 2 for anyone',
    ]);
    await send('query($n: Int) { page(n: $n) }', { n: 2 }, 'token-a');
    expect(calls).toBe(5);
  });

  it('never shares mutations', async () => {
    const answers = await settle([
      send('mutation { touch }', {}, 'token-a'),
      send('mutation { touch }', {}, 'token-a'),
    ]);
    expect(calls).toBe(2);
    expect(answers.map((a: any) => a.data.touch).sort()).toEqual([1, 2]);
  });
});

describe('serializeOnce', () => {
  it('serialises a marked result once, anything else as usual, and stays out of its JSON and copies', () => {
    const result = serializeOnce({ data: { page: 'x' } });
    const stringify = (result as { stringify?: (value: unknown) => string }).stringify!;
    const first = stringify(result);
    expect(first).toBe('{"data":{"page":"x"}}');
    // The text is kept: a change made afterwards (which nothing does) would not show.
    result.data.page = 'changed';
    expect(stringify(result)).toBe(first);
    expect(stringify({ other: 1 })).toBe('{"other":1}');
    expect(JSON.stringify(result)).toBe('{"data":{"page":"changed"}}');
    expect({ ...result }).not.toHaveProperty('stringify');
  });
});
