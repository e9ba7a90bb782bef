/**
 * A subscription event's position: `<STREAM>:<sequence>`, e.g. `PAYMENT:42`. Readable on purpose,
 * so an operator can match it against `nats stream info`; checked strictly, so a malformed or
 * foreign position gets a clear error instead of a silent restart from now.
 */
import { badInput } from '@coursegraph/service-kit';

const POSITION = /^([A-Z][A-Z0-9_]{0,63}):(0|[1-9][0-9]{0,15})$/;

export const formatPosition = (stream: string, sequence: number): string => `${stream}:${sequence}`;

/** The stream sequence to resume after, for a subscription reading `stream` (0: from the stream's start). */
export function parsePosition(value: unknown, stream: string): number {
  if (typeof value !== 'string' || value.length > 90) {
    throw badInput('after: expected the `position` string of an event you received, e.g. "PAYMENT:42".', 'after');
  }
  const match = POSITION.exec(value);
  if (!match)
    throw badInput(
      `after: "${value}" is not a position; expected "<STREAM>:<sequence>" as sent in an event's \`position\`, e.g. "${stream}:42".`,
      'after',
    );
  if (match[1] !== stream)
    throw badInput(
      `after: "${value}" is a position in stream ${match[1]}, but this subscription reads stream ${stream}.`,
      'after',
    );
  const sequence = Number(match[2]);
  if (!Number.isSafeInteger(sequence)) throw badInput(`after: "${value}" is out of range.`, 'after');
  return sequence;
}
