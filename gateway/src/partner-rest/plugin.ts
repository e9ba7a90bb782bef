/**
 * REST for partners: `GET /partners/v1/openapi.json` describes the calling partner's persisted
 * operations (openapi.ts), and `GET|POST /partners/v1/<operationName>` runs one. A call is turned
 * into the gateway's own persisted-document request (`/graphql?documentId=…&variables=…` for a
 * query, so its ETag and Cache-Control come back unchanged; a JSON POST for a mutation) and sent
 * through the gateway itself with the caller's headers, so the partner's key, rate limit, cost
 * budget and usage counts apply exactly as on /graphql.
 */
import type { GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import {
  ParameterError,
  REST_PREFIX,
  openApiFor,
  restOperations,
  variablesFromQuery,
  type PartnerAccess,
  type RestOperation,
} from './openapi.js';

export interface PartnerRestOptions {
  /** The partner behind the request's `x-api-key`, or null (no key, unknown or revoked). */
  partnerOf: (request: Request) => Promise<PartnerAccess | null>;
  /** The supergraph's API schema, which the documents are typed against. */
  apiSchema: () => GraphQLSchema;
  graphqlEndpoint: string;
  /** The gateway's own fetch (yoga.fetch), given late: the plugin is built before the server. */
  selfFetch: () => (url: string, init: RequestInit) => Promise<Response>;
}

export const OPENAPI_PATH = `${REST_PREFIX}openapi.json`;
/** Largest mutation body: variables, not uploads. */
export const MAX_BODY_BYTES = 64 * 1024;
/** What the answer of the self-fetch keeps: caching and refusal headers. */
const PASSED_HEADERS = ['etag', 'cache-control', 'vary', 'retry-after', 'last-modified'];
/** Request headers not forwarded: the self-fetch sets its own body, type and length. */
const DROPPED_HEADERS = new Set(['host', 'content-length', 'content-type', 'accept', 'accept-encoding', 'connection']);

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

/** The partner's routes, computed once per access answer (the look-up caches those for a minute). */
const routesOf = new WeakMap<PartnerAccess, Map<string, RestOperation>>();

/** The request's body as text, refused past `max` bytes without reading the rest. */
async function cappedText(request: Request, max: number): Promise<string | null> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > max) return null;
  const reader = request.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The variables of a mutation call: a JSON object whose keys are the operation's variables. */
async function variablesFromBody(request: Request, operation: RestOperation): Promise<Record<string, unknown>> {
  if (!/^application\/json\s*(;|$)/i.test(request.headers.get('content-type') ?? ''))
    throw new ParameterError('send the variables as an application/json object');
  const text = await cappedText(request, MAX_BODY_BYTES);
  if (text === null) throw new ParameterError(`the body is over ${MAX_BODY_BYTES} bytes`);
  let body: unknown;
  try {
    body = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new ParameterError('the body is not JSON');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new ParameterError('the body is not a JSON object');
  const declared = new Set(operation.variables.map((v) => v.name));
  for (const name of Object.keys(body))
    if (!declared.has(name)) throw new ParameterError(`unknown variable ${JSON.stringify(name.slice(0, 64))}`);
  for (const variable of operation.variables)
    if (variable.required && (body as Record<string, unknown>)[variable.name] == null)
      throw new ParameterError(`variable "${variable.name}" is required`);
  return body as Record<string, unknown>;
}

export function usePartnerRest({ partnerOf, apiSchema, graphqlEndpoint, selfFetch }: PartnerRestOptions): Plugin {
  /** Runs the operation through the gateway's own /graphql, with the caller's headers. */
  async function run(request: Request, operation: RestOperation, variables: Record<string, unknown>) {
    const headers = new Headers();
    for (const [name, value] of request.headers) if (!DROPPED_HEADERS.has(name)) headers.set(name, value);
    headers.set('accept', 'application/graphql-response+json, application/json');
    let res: Response;
    if (operation.method === 'GET') {
      const query = new URLSearchParams({ documentId: operation.documentId, variables: JSON.stringify(variables) });
      res = await selfFetch()(`http://gateway${graphqlEndpoint}?${query}`, { method: 'GET', headers });
    } else {
      headers.set('content-type', 'application/json');
      res = await selfFetch()(`http://gateway${graphqlEndpoint}`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ documentId: operation.documentId, variables }),
      });
    }
    const passed: Record<string, string> = {};
    for (const name of PASSED_HEADERS) {
      const value = res.headers.get(name);
      if (value !== null) passed[name] = value;
    }
    // A 304 has no body; anything else is the GraphQL response, served as plain JSON.
    if (res.status === 304) return new Response(null, { status: 304, headers: passed });
    return new Response(res.body, { status: res.status, headers: { ...passed, 'content-type': 'application/json' } });
  }

  return {
    async onRequest({ request, url, endResponse }) {
      if (!url.pathname.startsWith(REST_PREFIX)) return;
      const access = await partnerOf(request);
      if (!access) return endResponse(json(401, { error: 'Send a live partner API key in x-api-key.' }));
      let routes = routesOf.get(access);
      if (!routes) routesOf.set(access, (routes = restOperations(access.documents, apiSchema())));

      if (url.pathname === OPENAPI_PATH) {
        if (request.method !== 'GET') return endResponse(json(405, { error: 'Use GET.' }, { allow: 'GET' }));
        const serverUrl = `${url.protocol}//${url.host}`;
        return endResponse(json(200, openApiFor(access.partner, access.documents, apiSchema(), { serverUrl })));
      }
      // Operation names are plain [_A-Za-z0-9]: the path is compared as sent.
      const name = url.pathname.slice(REST_PREFIX.length);
      const operation = routes.get(name);
      if (!operation)
        return endResponse(
          json(404, { error: `No operation ${JSON.stringify(name.slice(0, 64))} is registered for this partner.` }),
        );
      if (request.method !== operation.method)
        return endResponse(
          json(
            405,
            { error: `${operation.operationName} is called with ${operation.method}.` },
            { allow: operation.method },
          ),
        );
      let variables: Record<string, unknown>;
      try {
        variables =
          operation.method === 'GET'
            ? variablesFromQuery(operation, url.searchParams)
            : await variablesFromBody(request, operation);
      } catch (err) {
        if (err instanceof ParameterError) return endResponse(json(400, { error: err.message }));
        throw err;
      }
      return endResponse(await run(request, operation, variables));
    },
  };
}
