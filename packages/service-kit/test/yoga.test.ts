import { describe, expect, it } from 'vitest';

import { GraphQLError } from 'graphql';
import { createSchema } from 'graphql-yoga';
import { createLogger } from '../src/logger.js';
import { ErrorCode, badInput, appError, isAppError, notFound, rateLimited } from '../src/errors.js';
import { createServiceYoga } from '../src/yoga/service-yoga.js';
import { MAX_REQUEST_BODY_BYTES } from '../src/yoga/request-body-limit.js';
import { DateTimeScalar } from '../src/scalars.js';

const SECRET = 'db password is hunter2';

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    scalar DateTime
    type Query {
      hello: String!
      badInput: String
      boom: String
      missing: String
      customCode: String
      echoAt(at: DateTime!): DateTime!
      limited: String
    }
    type Mutation {
      touch: Boolean!
    }
  `,
  resolvers: {
    DateTime: DateTimeScalar,
    Query: {
      hello: () => 'world',
      badInput: () => {
        throw badInput('Title must not be empty.', 'title');
      },
      boom: () => {
        throw new Error(SECRET);
      },
      missing: () => {
        throw notFound('No such course.');
      },
      customCode: () => {
        throw new GraphQLError('odd one', { extensions: { code: 'SOMETHING_ELSE' } });
      },
      echoAt: (_: unknown, args: { at: string }) => args.at,
      limited: () => {
        throw rateLimited('Slow down.', 30);
      },
    },
    Mutation: {
      touch: () => true,
    },
  },
});

interface Body {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[];
}

function makeYoga(context: (request: Request) => Promise<Record<string, unknown>> = async () => ({})) {
  return createServiceYoga({ schema, logger: createLogger('test', 'silent'), context });
}

const yoga = makeYoga();

async function post(body: string, headers: Record<string, string> = {}, y = yoga) {
  const res = await y.fetch('http://test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body,
  });
  const text = await res.text();
  return { res, text, body: JSON.parse(text) as Body };
}

const query = (q: string, variables?: Record<string, unknown>) => post(JSON.stringify({ query: q, variables }));

describe('errors helpers', () => {
  it('appError keeps the code last so callers cannot override it', () => {
    const err = appError(ErrorCode.CONFLICT, 'Taken.', { code: 'NOPE', field: 'slug' });
    expect(err.extensions).toEqual({ code: 'CONFLICT', field: 'slug' });
    expect(isAppError(err)).toBe(true);
    expect(isAppError(appError(ErrorCode.INTERNAL, 'x'))).toBe(false);
    expect(isAppError(new Error('x'))).toBe(false);
    expect(isAppError(new GraphQLError('x'))).toBe(false);
  });
});

describe('createServiceYoga error handling', () => {
  it('answers a plain query', async () => {
    const { res, body } = await query('{ hello }');
    expect(res.status).toBe(200);
    expect(body).toEqual({ data: { hello: 'world' } });
  });

  it('keeps the message and code of a deliberate badInput error', async () => {
    const { res, body } = await query('{ badInput }');
    expect(res.status).toBe(200);
    expect(body.data).toEqual({ badInput: null });
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]).toMatchObject({
      message: 'Title must not be empty.',
      path: ['badInput'],
      extensions: { code: 'BAD_USER_INPUT', field: 'title' },
    });
  });

  it('keeps other fixed codes and their extensions', async () => {
    const { body } = await query('{ missing limited }');
    const byPath = Object.fromEntries(body.errors!.map((e) => [e.path![0], e]));
    expect(byPath.missing).toMatchObject({ message: 'No such course.', extensions: { code: 'NOT_FOUND' } });
    expect(byPath.limited).toMatchObject({
      message: 'Slow down.',
      extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 30 },
    });
  });

  it('masks an unexpected error as INTERNAL without leaking its text', async () => {
    const { text, body } = await query('{ hello boom }');
    expect(body.data).toEqual({ hello: 'world', boom: null });
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.message).toBe('Unexpected error.');
    expect(body.errors![0]!.extensions?.code).toBe('INTERNAL');
    expect(body.errors![0]!.path).toEqual(['boom']);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('password');
    expect(text).not.toContain('stack');
    expect(text).not.toContain('originalError');
  });

  it('maps a field error with a code outside the fixed set to INTERNAL, keeping the code as reason', async () => {
    const { body } = await query('{ customCode }');
    expect(body.errors![0]!.extensions).toEqual({ code: 'INTERNAL', reason: 'SOMETHING_ELSE' });
  });

  it('answers a parse error with 400 BAD_USER_INPUT, reason GRAPHQL_PARSE_FAILED', async () => {
    const { res, body } = await query('{ hello ');
    expect(res.status).toBe(400);
    expect(body.data).toBeUndefined();
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'GRAPHQL_PARSE_FAILED' });
    expect(body.errors![0]!.message).toMatch(/Syntax Error/);
  });

  it('answers an unknown field with 400 BAD_USER_INPUT, reason GRAPHQL_VALIDATION_FAILED', async () => {
    const { res, body } = await query('{ hello nope }');
    expect(res.status).toBe(400);
    expect(body.data).toBeUndefined();
    expect(body.errors![0]!.message).toContain('Cannot query field "nope" on type "Query"');
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'GRAPHQL_VALIDATION_FAILED' });
  });

  it('answers a malformed JSON body with 400 BAD_USER_INPUT and no internal detail', async () => {
    const { res, text, body } = await post('{"query": "{ hello }"');
    expect(res.status).toBe(400);
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', reason: 'BAD_REQUEST' });
    expect(text).not.toContain('originalError');
    expect(text).not.toContain('stack');
  });

  it('rejects an invalid DateTime variable with BAD_USER_INPUT', async () => {
    const { res, body } = await query('query ($at: DateTime!) { echoAt(at: $at) }', {
      at: '2026-01-31T12:00:00+02:00',
    });
    expect(res.status).toBe(400);
    expect(body.errors![0]!.message).toContain('DateTime must be a UTC ISO 8601 string');
    expect(body.errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
    const ok = await query('query ($at: DateTime!) { echoAt(at: $at) }', { at: '2026-01-31T12:00:00Z' });
    expect(ok.body).toEqual({ data: { echoAt: '2026-01-31T12:00:00.000Z' } });
  });

  it('serves a query over GET', async () => {
    const res = await yoga.fetch(`http://test/graphql?query=${encodeURIComponent('{ hello }')}`, {
      method: 'GET',
      headers: { accept: 'application/graphql-response+json' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { hello: 'world' } });
  });

  it('refuses a mutation over GET with 405', async () => {
    const res = await yoga.fetch(`http://test/graphql?query=${encodeURIComponent('mutation { touch }')}`, {
      method: 'GET',
      headers: { accept: 'application/graphql-response+json' },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    const body = (await res.json()) as Body;
    expect(body.data).toBeUndefined();
    expect(body.errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('returns an error thrown by the context factory, masking unexpected ones', async () => {
    const denying = makeYoga(async () => {
      throw appError(ErrorCode.UNAUTHENTICATED, 'The access token has expired; refresh it.');
    });
    const denied = await post(JSON.stringify({ query: '{ hello }' }), {}, denying);
    expect(denied.body.data ?? null).toBeNull();
    expect(denied.body.errors![0]).toMatchObject({
      message: 'The access token has expired; refresh it.',
      extensions: { code: 'UNAUTHENTICATED' },
    });

    const broken = makeYoga(async () => {
      throw new Error(SECRET);
    });
    const failed = await post(JSON.stringify({ query: '{ hello }' }), {}, broken);
    expect(failed.body.errors![0]).toMatchObject({ message: 'Unexpected error.', extensions: { code: 'INTERNAL' } });
    expect(failed.text).not.toContain('hunter2');
  });
});

describe('request body limit', () => {
  const padded = (bytes: number) => JSON.stringify({ query: '{ hello }', variables: { pad: 'x'.repeat(bytes) } });
  /** A body sent in chunks without a Content-Length, as a streaming client sends it. */
  const chunked = (text: string) => {
    const bytes = new TextEncoder().encode(text);
    return new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 64 * 1024) controller.enqueue(bytes.slice(i, i + 64 * 1024));
        controller.close();
      },
    });
  };
  const send = async (body: BodyInit, headers: Record<string, string> = {}) => {
    const res = await yoga.fetch('http://test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
      body,
      // @ts-expect-error duplex is required for a streamed body but missing from the DOM types
      duplex: 'half',
    });
    return { status: res.status, body: (await res.json()) as Body };
  };

  it('refuses a declared Content-Length over the limit with 413, before reading the body', async () => {
    const big = padded(MAX_REQUEST_BODY_BYTES);
    const res = await send(big, { 'content-length': String(Buffer.byteLength(big)) });
    expect(res.status).toBe(413);
    expect(res.body.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', reason: 'PAYLOAD_TOO_LARGE' } });
  });

  it('refuses a Content-Length that is not a length', async () => {
    const res = await send(padded(10), { 'content-length': '12, 12' });
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('counts a chunked body as it streams: over the limit is refused, under it is answered', async () => {
    const over = await send(chunked(padded(MAX_REQUEST_BODY_BYTES)));
    expect(over.status).toBe(413);
    expect(over.body.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', reason: 'PAYLOAD_TOO_LARGE' } });
    const under = await send(chunked(padded(MAX_REQUEST_BODY_BYTES - 1000)));
    expect(under).toMatchObject({ status: 200, body: { data: { hello: 'world' } } });
  });

  it('answers a body within its declared length', async () => {
    const body = padded(MAX_REQUEST_BODY_BYTES - 1000);
    const res = await send(body, { 'content-length': String(Buffer.byteLength(body)) });
    expect(res).toMatchObject({ status: 200, body: { data: { hello: 'world' } } });
  });
});
