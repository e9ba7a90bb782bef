/**
 * Counts every GraphQL request the endpoint answers (usage per client, issue 17): its client, the
 * operation it ran, whether it failed, whether its document was unregistered, and how long it took.
 * Not counted: the explorer's page and assets, /health, subscription streams (served outside yoga)
 * and the in-process queries that fill in subscription events' entity fields.
 */
import { getOperationAST } from 'graphql';
import type { Plugin, YogaInitialContext } from 'graphql-yoga';
import { OPERATION_BATCH } from '@coursegraph/service-kit';
import { requestClient } from '../request-client.js';
import { UNPARSED_OPERATION, type UsageCounts } from './counts.js';

export const CLIENT_NAME_HEADER = 'apollographql-client-name';
export const CLIENT_VERSION_HEADER = 'apollographql-client-version';

/** Longest client name or version kept (characters); the rest is cut. */
export const MAX_CLIENT_CHARS = 64;
// GraphQL names and document ids are bounded by the document alone; these keep one report row small.
const MAX_OPERATION_NAME_CHARS = 128;
const MAX_DOCUMENT_ID_CHARS = 128;

/** A header value as a usage key: control characters removed, trimmed, at most `max` characters. */
export function cleanLabel(value: string | null, max = MAX_CLIENT_CHARS): string {
  const text = (value ?? '').replace(/\p{Cc}/gu, '').trim();
  const chars = Array.from(text); // by code point, so a cut never splits a surrogate pair
  return chars.length > max ? chars.slice(0, max).join('').trimEnd() : text;
}

interface InFlight {
  startedAt: number;
  /** null until the document parsed. */
  operationName: string | null;
  error: boolean;
}

const hasErrors = (result: unknown): boolean =>
  Array.isArray(result)
    ? result.some(hasErrors)
    : Boolean(result && typeof result === 'object' && (result as { errors?: unknown[] }).errors?.length);

export function useUsageCounting(counts: UsageCounts, graphqlEndpoint: string): Plugin {
  const inFlight = new WeakMap<Request, InFlight>();
  return {
    onRequest({ request, url, serverContext }) {
      if (url.pathname !== graphqlEndpoint) return;
      // A browser's navigation is the explorer's page (explorer.ts, yoga's own rule), not an operation.
      if (request.method === 'GET' && request.headers.get('accept')?.includes('text/html')) return;
      if ((serverContext as Record<symbol, unknown> | undefined)?.[OPERATION_BATCH]) return;
      inFlight.set(request, { startedAt: performance.now(), operationName: null, error: false });
    },
    onParse({ context }) {
      const { request, params } = context as YogaInitialContext;
      return ({ result }) => {
        const state = request && inFlight.get(request);
        if (!state || result instanceof Error || !result) return;
        const name = getOperationAST(result, params?.operationName)?.name?.value ?? '';
        state.operationName = name.slice(0, MAX_OPERATION_NAME_CHARS);
      };
    },
    onResultProcess({ request, result }) {
      const state = inFlight.get(request);
      if (state && hasErrors(result)) state.error = true;
    },
    onResponse({ request, response }) {
      const state = inFlight.get(request);
      if (!state) return;
      inFlight.delete(request);
      const noted = requestClient(request);
      counts.record(
        {
          // A partner key names the client; otherwise the client says who it is.
          client: noted.partnerId ? cleanLabel(noted.partnerName) : cleanLabel(request.headers.get(CLIENT_NAME_HEADER)),
          clientVersion: cleanLabel(request.headers.get(CLIENT_VERSION_HEADER)),
          partnerId: noted.partnerId,
          operationName: state.operationName ?? UNPARSED_OPERATION,
          documentId: noted.documentId.slice(0, MAX_DOCUMENT_ID_CHARS),
        },
        {
          error: state.error || response.status >= 400,
          unregistered: noted.unregistered,
          latencyMs: performance.now() - state.startedAt,
        },
      );
    },
  };
}
