/**
 * What the gateway learned about a request's caller and document while serving it, kept beside the
 * request for the usage counts (usage/): the persisted-documents plugin notes the partner, the
 * document's id and whether the document was unregistered; the usage plugin reads the whole record
 * when the response goes out.
 */

export interface RequestClient {
  /** The partner's id for a partner key; '' otherwise. */
  partnerId: string;
  /** The partner's name for a partner key; '' otherwise (the usage plugin then reads the client headers). */
  partnerName: string;
  /** The persisted document's id when the request named one, or its text matched one; '' otherwise. */
  documentId: string;
  /** The persisted-documents setting refused the document, or in log-only mode would have. */
  unregistered: boolean;
}

const EMPTY: RequestClient = { partnerId: '', partnerName: '', documentId: '', unregistered: false };

const byRequest = new WeakMap<Request, RequestClient>();

/** Adds what is now known about the request's caller or document. */
export function noteRequestClient(request: Request, fields: Partial<RequestClient>): void {
  byRequest.set(request, { ...(byRequest.get(request) ?? EMPTY), ...fields });
}

/** Everything noted about the request so far. */
export const requestClient = (request: Request): RequestClient => byRequest.get(request) ?? EMPTY;
