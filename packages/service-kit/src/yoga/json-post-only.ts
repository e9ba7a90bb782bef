/** CSRF prevention for every service: a POST must say it carries JSON or GraphQL. */
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ErrorCode } from '../errors.js';

/**
 * Media types a POST may carry: JSON or GraphQL. A browser cannot send any of them cross-site
 * without a CORS preflight.
 */
export const POST_CONTENT_TYPES = [
  'application/json',
  'application/graphql-response+json',
  'application/graphql',
  'application/graphql+json',
];

/**
 * CSRF prevention: a POST must declare a JSON or GraphQL content type. The types an HTML form (or a
 * `no-cors` fetch) can send without a preflight (form-encoded, multipart, text/plain) are refused
 * with 415 before anything is parsed or executed, so a cross-site page cannot make a browser run an
 * operation with whatever credentials it carries. GET stays for queries (yoga refuses mutations
 * over GET with 405).
 */
export function useJsonPostOnly(): Plugin {
  return {
    onRequestParse({ request }) {
      if (request.method !== 'POST') return;
      const declared = request.headers.get('content-type') ?? '';
      const mediaType = declared.split(';')[0]!.trim().toLowerCase();
      if (POST_CONTENT_TYPES.includes(mediaType)) return;
      const sent = mediaType ? `"${mediaType}"` : 'none';
      throw new GraphQLError(
        `POST requests must send Content-Type: application/json (or a GraphQL media type); ${sent} is not accepted.`,
        { extensions: { code: ErrorCode.BAD_USER_INPUT, reason: 'UNSUPPORTED_MEDIA_TYPE', http: { status: 415 } } },
      );
    },
  };
}
