/**
 * What a failed outbox publish means for its row (relay.ts):
 * - `transient`: the server was not reached or did not answer (timeout, disconnected, closed). Nothing
 *   is wrong with the row; it is retried without counting toward parking, however long the outage.
 * - `refused`: the server answered no (a permission violation, no stream for the subject, another
 *   JetStream refusal). May heal (a stream re-declared, permissions deployed), so it is retried, but
 *   each refusal counts and the row is parked after EVENT_OUTBOX_MAX_ATTEMPTS.
 * - `permanent`: the message itself can never be accepted (larger than the server's max_payload or
 *   the stream's message size limit): parked at once.
 */
export type PublishFailure = 'transient' | 'refused' | 'permanent';

// JetStream API errors about the message's own size: "message size exceeds maximum allowed",
// "header size exceeds maximum allowed".
const TOO_LARGE_API_CODES = new Set([10054, 10097]);
const TRANSIENT_NAMES = /^(TimeoutError|ClosedConnectionError|DrainingConnectionError|ConnectionError)$/;

export function classifyPublishError(err: unknown, depth = 0): PublishFailure {
  if (!err || typeof err !== 'object' || depth > 4) return 'refused';
  const { name = '', message = '', code } = err as { name?: string; message?: string; code?: unknown };
  if (err instanceof OutboxRowTooLargeError || /max_payload/i.test(message)) return 'permanent';
  if (name === 'JetStreamApiError' && typeof code === 'number' && TOO_LARGE_API_CODES.has(code)) return 'permanent';
  if (TRANSIENT_NAMES.test(name) || /timeout|timed out|disconnect|connection closed|draining/i.test(message))
    return 'transient';
  const cause = (err as { cause?: unknown }).cause;
  return cause ? classifyPublishError(cause, depth + 1) : 'refused';
}

/** The relay's own check against the connected server's max_payload, with the sizes in its message. */
export class OutboxRowTooLargeError extends Error {
  override name = 'OutboxRowTooLargeError';
  constructor(
    readonly bytes: number,
    readonly maxPayload: number,
  ) {
    super(`event is ${bytes} bytes with its headers; the NATS server accepts at most ${maxPayload} (max_payload)`);
  }
}

/** The error as the row's last_error: "no responders" says which subject no stream takes. */
export function describePublishError(err: unknown, subject: string): string {
  const name = (err as { name?: string } | null)?.name;
  if (name === 'JetStreamNotEnabled' || name === 'NoResponders') {
    return `no JetStream stream takes ${subject} (the server has no responders for it: a missing stream, or JetStream off)`;
  }
  return err instanceof Error ? err.message : String(err);
}
