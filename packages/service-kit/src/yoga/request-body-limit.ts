/** The request body limit every service applies (createServiceYoga puts it last among the plugins). */
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ErrorCode } from '../errors.js';

/** The largest request body a service reads (GraphQL operations and their variables). */
export const MAX_REQUEST_BODY_BYTES = 1_000_000;

const bodyTooLarge = () =>
  new GraphQLError(`The request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes.`, {
    extensions: { code: ErrorCode.BAD_USER_INPUT, reason: 'PAYLOAD_TOO_LARGE', http: { status: 413 } },
  });

/**
 * Refuses request bodies over `limit` bytes. Yoga's own limit pipes every body through a
 * TransformStream to count it, which cost the gateway about a tenth of its CPU under load; a body
 * that declares its Content-Length is held to it by Node's HTTP parser, so checking the header
 * is enough, and only a chunked body (no Content-Length) is counted as it streams.
 */
export function useRequestBodyLimit(limit: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const declared = request.headers.get('content-length');
      if (declared !== null) {
        if (!/^\d+$/.test(declared)) {
          throw new GraphQLError('The Content-Length header is not a length.', {
            extensions: { code: ErrorCode.BAD_USER_INPUT, http: { status: 400 } },
          });
        }
        if (Number(declared) > limit) throw bodyTooLarge();
        return;
      }
      if (!requestParser || !request.body) return;
      let read = 0;
      // A native stream needs the native TransformStream; whatwg-node's own streams need its ponyfill.
      const Transform = request.body instanceof ReadableStream ? TransformStream : fetchAPI.TransformStream;
      const counted = request.body.pipeThrough(
        new Transform<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            read += chunk.byteLength;
            if (read > limit) controller.error(bodyTooLarge());
            else controller.enqueue(chunk);
          },
        }),
      );
      const parse = requestParser;
      const init = {
        method: request.method,
        headers: request.headers,
        signal: request.signal,
        body: counted,
        duplex: 'half',
      };
      setRequestParser((req) => parse(new fetchAPI.Request(req.url, init as RequestInit)));
    },
  };
}
