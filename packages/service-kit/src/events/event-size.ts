/**
 * How large an event is on the wire, and the refusal of one too large for NATS. Refusing when the
 * event is written is the right place: the producer's transaction rolls back, so the change and its
 * event are refused together and the caller learns it at once. Accepting it would commit a change
 * whose event can never be published (the server refuses messages over max_payload), which the
 * relay could only park for an operator, and the other contexts would never hear of the change.
 */
import { ErrorCode } from '../errors.js';
import { GraphQLError } from 'graphql';
import type { MsgHdrs } from '@nats-io/transport-node';

/** Bytes of `headers` in NATS's wire format (`NATS/1.0\r\n`, `Key: value\r\n` each, `\r\n`), as max_payload counts them. */
export function encodedHeadersSize(headers: MsgHdrs): number {
  let size = 'NATS/1.0\r\n'.length + 2;
  for (const [key, values] of headers) {
    for (const value of values) size += Buffer.byteLength(key) + 2 + Buffer.byteLength(value) + 2;
  }
  return size;
}

/**
 * An event larger than EVENT_MAX_BYTES. A client-facing error (BAD_USER_INPUT, reason EVENT_TOO_LARGE):
 * what makes an event large is what the caller sent (e.g. the lesson text of a course being published).
 */
export class EventTooLargeError extends GraphQLError {
  constructor(
    readonly subject: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(
      `This change is too large to publish: its ${subject} event would be ${bytes} bytes, and events may be at most ${limit} bytes. Make it smaller (e.g. shorter texts) and try again.`,
      {
        extensions: { code: ErrorCode.BAD_USER_INPUT, reason: 'EVENT_TOO_LARGE', subject, bytes, limit },
      },
    );
    this.name = 'EventTooLargeError';
  }
}
