/**
 * Persisted documents at the endpoint, in two yoga plugins around the APQ plugin (apq.ts):
 *
 * useDocumentRequests, when the parameters are read:
 *   - a request with `x-api-key` is a partner's: the key must be live (identity, partner-access.ts),
 *     the request names one of the partner's documents by id (`documentId`, or APQ's
 *     `extensions.persistedQuery.sha256Hash`) and sends no text, a GET names a query, and the
 *     partner's requests and cost per minute are drawn from its buckets in Redis. The partner runs
 *     as an anonymous caller (an access token beside the key is refused).
 *   - anyone else may name a document of the project's own manifest (first-party.ts) by `documentId`.
 *   - a GET that named a document is answered with a strong `ETag` (and 304 to a matching
 *     `If-None-Match`), and with `Cache-Control: public` when the answer is anonymous and has no
 *     errors, so a CDN can keep it; otherwise `no-store` (errors) or `private, no-cache` (signed in).
 *
 * useRegisteredDocuments, before execution: a document sent as text (or through APQ) that is one
 * of the project's own is noted as such; any other is unregistered, which GATEWAY_PERSISTED_DOCUMENTS
 * decides: off (served), log (served, noted and logged) or enforce (refused with
 * PERSISTED_DOCUMENT_REQUIRED). Admins (the explorer) and the gateway's own in-process calls (the
 * explorer's sign-in, subscription entity fields) are never refused.
 *
 * Refusals keep to the fixed error codes (errors.ts), the precise case in `reason`:
 * BAD_USER_INPUT/MALFORMED_DOCUMENT_ID, NOT_FOUND/PERSISTED_DOCUMENT_NOT_FOUND,
 * FORBIDDEN/PERSISTED_DOCUMENT_REQUIRED.
 */
import { createHash } from 'node:crypto';
import { GraphQLError, getOperationAST, type ExecutionResult } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import { ErrorCode, persistedDocumentId, type Logger } from '@coursegraph/service-kit';
import type { ClientIpResolver } from '../client-ip.js';
import type { GatewayContext } from '../context.js';
import { rateLimitedError, RateLimitStoreUnavailable, type RateLimitStore } from '../rate-limit/index.js';
import { explorerCookieToken, fromExplorer } from '../request-auth.js';
import { noteRequestClient, requestClient } from '../request-client.js';
import type { FirstPartyManifest } from './first-party.js';
import type { PartnerAccess, PartnerAccessLookup } from './partner-access.js';

export const API_KEY_HEADER = 'x-api-key';

export type PersistedDocumentsMode = 'off' | 'log' | 'enforce';

/** sha256 hex, optionally with the `sha256:` prefix the GraphQL-over-HTTP persisted documents draft uses. */
const DOCUMENT_ID = /^(?:sha256:)?([0-9a-f]{64})$/;

/** Client names are the client's to choose: cut before they reach a log line. */
const MAX_CLIENT_NAME = 64;

type Params = GraphQLParams & { documentId?: unknown };

const refusal = (
  code: ErrorCode,
  reason: string | undefined,
  status: number,
  message: string,
  headers?: Record<string, string>,
) =>
  new GraphQLError(message, {
    extensions: { code, ...(reason ? { reason } : {}), http: { status, ...(headers ? { headers } : {}) } },
  });

const malformedId = () =>
  refusal(
    ErrorCode.BAD_USER_INPUT,
    'MALFORMED_DOCUMENT_ID',
    400,
    'A document id is the sha256 of the document: 64 lowercase hex characters, optionally prefixed "sha256:".',
  );

const documentNotFound = () =>
  refusal(ErrorCode.NOT_FOUND, 'PERSISTED_DOCUMENT_NOT_FOUND', 404, 'No persisted document has this id.');

export const persistedDocumentRequired = () =>
  refusal(
    ErrorCode.FORBIDDEN,
    'PERSISTED_DOCUMENT_REQUIRED',
    403,
    'This endpoint runs only registered documents: send the documentId of a persisted document.',
  );

/** The id a request names (`documentId`, or APQ's hash when `apq`), or null; throws on a malformed one. */
function namedId(params: Params, apq: boolean): string | null {
  const fromApq = apq
    ? (params.extensions?.persistedQuery as { sha256Hash?: unknown } | undefined)?.sha256Hash
    : undefined;
  const raw = params.documentId ?? fromApq;
  if (raw == null) return null;
  const match = typeof raw === 'string' ? DOCUMENT_ID.exec(raw) : null;
  if (!match) throw malformedId();
  return match[1]!;
}

/** The parameters that run `query` in place of a named document (yoga refuses unknown ones). */
function withDocument(params: Params, query: string, operationName: string | undefined): GraphQLParams {
  const { persistedQuery: _apq, ...extensions } = params.extensions ?? {};
  return { query, operationName, variables: params.variables, extensions };
}

const isJson = (contentType: string | null) => /json/i.test(contentType ?? '');

const hasErrors = (result: unknown) =>
  !!result && typeof result === 'object' && !Array.isArray(result) && !!(result as ExecutionResult).errors?.length;

/** Weak comparison (RFC 9110, 13.1.2): a client may send the tag back marked weak. */
function matchesEtag(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === etag;
  });
}

export interface DocumentRequestsOptions {
  firstParty: FirstPartyManifest;
  partners: PartnerAccessLookup;
  /** The partners' request and cost buckets (the rate limits' store). */
  limits: RateLimitStore;
  /** Cache-Control max-age of an anonymous persisted GET's answer. */
  getMaxAgeSeconds: number;
  logger: Logger;
  /** Prefix of the partners' Redis keys. Default `gateway:partner-limit:`. */
  keyPrefix?: string;
}

export function useDocumentRequests(options: DocumentRequestsOptions): Plugin {
  const { firstParty, partners, limits, logger } = options;
  const prefix = options.keyPrefix ?? 'gateway:partner-limit:';
  /** GETs that named a persisted document: their answers get an ETag and Cache-Control. */
  const persistedGets = new WeakSet<Request>();
  const answeredWithErrors = new WeakSet<Request>();
  let outage = false;

  /** Draws one request and the document's cost from the partner's buckets; the refusal, or null. */
  const drawPartner = async (partner: PartnerAccess['partner'], cost: number): Promise<GraphQLError | null> => {
    const perMinute = (policy: string, limit: number, units: number) => ({
      policy,
      bucket: { key: `${prefix}${policy}:${partner.id}`, limit, windowMs: 60_000, cost: units },
    });
    const drawn = [
      perMinute('partner', partner.rateLimitPerMinute, 1),
      perMinute('partner-cost', partner.costBudgetPerMinute, cost),
    ];
    const impossible = drawn.find((d) => d.bucket.cost > d.bucket.limit);
    if (impossible)
      return rateLimitedError(
        impossible.policy,
        60,
        `This operation costs ${cost}, more than the partner's budget of ${partner.costBudgetPerMinute} per minute.`,
      );
    try {
      const decision = await limits.take(drawn.map((d) => d.bucket));
      if (outage) logger.info('partner limits available again (Redis answers)');
      outage = false;
      if (decision.allowed) return null;
      const refusedBy = drawn.find((d, i) => decision.states[i]!.remaining < d.bucket.cost) ?? drawn[0]!;
      const retryAfterSeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
      return rateLimitedError(
        refusedBy.policy,
        retryAfterSeconds,
        refusedBy.policy === 'partner'
          ? `Too many requests for this partner (${partner.rateLimitPerMinute} per minute). Try again in ${retryAfterSeconds} seconds.`
          : `This partner's cost budget (${partner.costBudgetPerMinute} per minute) is spent. Try again in ${retryAfterSeconds} seconds.`,
      );
    } catch (err) {
      if (!(err instanceof RateLimitStoreUnavailable)) throw err;
      // As the other rate limits: an outage of the limiter does not take partners down with it.
      if (!outage) logger.warn({ err: err.message }, 'partner limits unavailable (Redis): serving without them');
      outage = true;
      return null;
    }
  };

  const partnerParams = async (request: Request, key: string, params: Params): Promise<GraphQLParams> => {
    if (request.headers.has('authorization') || (fromExplorer(request) && explorerCookieToken(request)))
      throw refusal(
        ErrorCode.BAD_USER_INPUT,
        'CONFLICTING_CREDENTIALS',
        400,
        'Send either an API key (x-api-key) or an access token (Authorization), not both.',
      );
    const access = await partners.byKey(key);
    if (!access) throw refusal(ErrorCode.UNAUTHENTICATED, undefined, 401, 'Unknown or revoked API key.');
    if (params.query != null)
      throw refusal(
        ErrorCode.FORBIDDEN,
        undefined,
        403,
        "Partner keys run only the operations of their registered manifests: send the document's documentId, not its text.",
      );
    const id = namedId(params, true);
    if (!id)
      throw refusal(
        ErrorCode.BAD_USER_INPUT,
        'DOCUMENT_ID_REQUIRED',
        400,
        'Send the documentId of one of your registered documents.',
      );
    const document = Object.hasOwn(access.documents, id) ? access.documents[id]! : null;
    if (!document) throw documentNotFound();
    if (request.method === 'GET' && document.operationType !== 'query')
      throw refusal(
        ErrorCode.BAD_USER_INPUT,
        'METHOD_NOT_ALLOWED',
        405,
        `${document.operationName} is a mutation: send it by POST.`,
        {
          allow: 'POST',
        },
      );
    const limited = await drawPartner(access.partner, document.cost);
    if (limited) throw limited;
    noteRequestClient(request, { partnerId: access.partner.id, partnerName: access.partner.name, documentId: id });
    return withDocument(params, document.document, document.operationName);
  };

  const firstPartyParams = (request: Request, params: Params): GraphQLParams => {
    const id = namedId(params, false)!;
    if (params.query != null)
      throw refusal(
        ErrorCode.BAD_USER_INPUT,
        'CONFLICTING_DOCUMENT',
        400,
        'Send either a documentId or a query, not both.',
      );
    const text = firstParty.get(id);
    if (text === undefined) throw documentNotFound();
    noteRequestClient(request, { documentId: id });
    return withDocument(params, text, params.operationName);
  };

  return {
    onRequestParse({ request, requestParser, setRequestParser }) {
      if (request.method !== 'GET' || !requestParser) return;
      // Yoga's GET parser reads neither documentId nor a clear error for parameters that are not JSON.
      const parseGet = requestParser;
      setRequestParser(async (req) => {
        let params;
        try {
          params = await parseGet(req);
        } catch (err) {
          if (!(err instanceof SyntaxError)) throw err;
          throw refusal(
            ErrorCode.BAD_USER_INPUT,
            'MALFORMED_PARAMETER',
            400,
            'The variables and extensions parameters must be JSON.',
          );
        }
        const documentId = new URL(req.url).searchParams.get('documentId');
        return documentId === null || Array.isArray(params) ? params : { ...params, documentId };
      });
    },
    async onParams({ request, params, setParams }) {
      const { documentId, ...rest } = params as Params;
      const key = request.headers.get(API_KEY_HEADER);
      if (key === null && documentId == null) {
        // yoga refuses parameters it does not know, a null documentId included.
        if ('documentId' in params) setParams(rest);
        return;
      }
      // Before the checks, so a refusal is marked not cacheable too.
      if (request.method === 'GET') persistedGets.add(request);
      setParams(key !== null ? await partnerParams(request, key, params) : firstPartyParams(request, params));
    },
    onResultProcess({ request, result }) {
      if (persistedGets.has(request) && hasErrors(result)) answeredWithErrors.add(request);
    },
    async onResponse({ request, response, setResponse }) {
      if (!persistedGets.has(request)) return;
      const headers = new Headers(response.headers);
      if (response.status !== 200 || answeredWithErrors.has(request) || !isJson(headers.get('content-type'))) {
        headers.set('cache-control', 'no-store');
        setResponse(new Response(response.body, { status: response.status, headers }));
        return;
      }
      const body = await response.text();
      const etag = `"${createHash('sha256').update(body).digest('base64url')}"`;
      headers.set('etag', etag);
      headers.delete('content-length');
      // A partner runs as an anonymous caller; a signed-in answer is the caller's own.
      if (request.headers.has('authorization')) headers.set('cache-control', 'private, no-cache');
      else {
        headers.set('cache-control', `public, max-age=${options.getMaxAgeSeconds}`);
        headers.append('vary', 'Authorization');
      }
      if (matchesEtag(request.headers.get('if-none-match'), etag)) {
        headers.delete('content-type');
        setResponse(new Response(null, { status: 304, headers }));
      } else setResponse(new Response(body, { status: 200, headers }));
    },
  };
}

export interface RegisteredDocumentsOptions {
  mode: PersistedDocumentsMode;
  firstParty: FirstPartyManifest;
  /** Tells the gateway's own in-process calls (no client address) from the network's. */
  clientIp: ClientIpResolver;
  logger: Logger;
}

/** Put it after the APQ plugin: the text it judges is the one APQ found. */
export function useRegisteredDocuments(options: RegisteredDocumentsOptions): Plugin {
  const { mode, firstParty, clientIp, logger } = options;
  const sentText = new WeakMap<Request, string>();
  return {
    onParams({ request, params }) {
      if (typeof params.query === 'string') sentText.set(request, params.query);
    },
    onExecute({ args, setResultAndStopExecution }) {
      const context = args.contextValue as unknown as GatewayContext & { request?: Request };
      const request = context.request;
      const text = request && sentText.get(request);
      if (!request || text === undefined) return;
      const noted = requestClient(request);
      // A partner's document, or one named by id: registered already.
      if (noted.partnerId || noted.documentId) return;
      const id = firstParty.idOf(text, args.document);
      if (id) {
        noteRequestClient(request, { documentId: id });
        return;
      }
      if (mode === 'off' || clientIp.of(request) === null || context.viewer?.role === 'ADMIN') return;
      noteRequestClient(request, { unregistered: true });
      logger.info(
        {
          operationName: getOperationAST(args.document, args.operationName)?.name?.value ?? null,
          clientName: (request.headers.get('apollographql-client-name') ?? '').trim().slice(0, MAX_CLIENT_NAME),
          documentHash: persistedDocumentId(text),
          refused: mode === 'enforce',
        },
        'unregistered document',
      );
      if (mode === 'enforce') setResultAndStopExecution({ errors: [persistedDocumentRequired()] });
    },
  };
}
