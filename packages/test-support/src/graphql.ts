import { randomUUID } from 'node:crypto';

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  headers: Headers;
  body: { data?: T | null; errors?: { message: string; path?: string[]; extensions?: Record<string, any> }[] };
}

/** POSTs a GraphQL operation with any fetch (a yoga app's in-process fetch, or the global one). */
export async function postGraphQL<T = Record<string, any>>(
  fetchFn: (url: string, init: RequestInit) => Promise<Response> | Response,
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const res = await fetchFn(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

/** The first error's code, or undefined. */
export const errorCode = (res: GraphQLResponse) => res.body.errors?.[0]?.extensions?.code;

export const uniqueEmail = (tag = 'user') => `${tag}-${randomUUID()}@test.coursegraph.dev`;

/** A password that passes the policy. */
export const GOOD_PASSWORD = 'violet-otter-staircase';

export const AUTH_FIELDS =
  'accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt user { id email name role active }';
