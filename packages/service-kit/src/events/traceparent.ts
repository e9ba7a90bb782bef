/**
 * W3C trace-context `traceparent` values (version 00), the same rules as rust-subgraphs/events:
 * lowercase hex, no all-zero trace or parent id. Every event carries one so a consumer's work joins
 * the trace of the request that caused it.
 */
import { randomBytes } from 'node:crypto';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZEROS = /^0+$/;

export function isTraceparent(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const match = TRACEPARENT.exec(value);
  return match !== null && !ZEROS.test(match[1]!) && !ZEROS.test(match[2]!);
}

// randomBytes of 16/8 bytes is all zeros with negligible probability; loop anyway so the result is always valid.
function hexId(bytes: number): string {
  for (;;) {
    const id = randomBytes(bytes).toString('hex');
    if (!ZEROS.test(id)) return id;
  }
}

/** A new trace (sampled): for work that starts without an incoming trace, e.g. a scheduled job. */
export function newTraceparent(): string {
  return `00-${hexId(16)}-${hexId(8)}-01`;
}

/** The same trace with a new parent (span) id, keeping the sampling flags. */
export function childTraceparent(parent: string): string {
  if (!isTraceparent(parent)) throw new Error(`invalid traceparent: ${parent}`);
  const [, traceId, , flags] = parent.split('-');
  return `00-${traceId}-${hexId(8)}-${flags}`;
}
