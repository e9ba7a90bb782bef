/**
 * "Now" for a request. Learning's scheduling and time limits depend on it, so tests and the learner
 * simulator move time through the gateway with the x-coursegraph-clock header; the gateway forwards
 * it and a subgraph honours it only when CLOCK_HEADER is on, which the production profile refuses.
 */
import { badInput } from './errors.js';

/** The request header that carries the injected time (a UTC ISO 8601 instant). */
export const CLOCK_HEADER = 'x-coursegraph-clock';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/** The header's time when `headerEnabled` and present, the wall clock otherwise; a malformed one is BAD_USER_INPUT. */
export function requestNow(request: Request, headerEnabled: boolean): Date {
  const value = headerEnabled ? request.headers.get(CLOCK_HEADER) : null;
  if (value === null) return new Date();
  const ms = ISO.test(value) ? Date.parse(value) : Number.NaN;
  // Date.parse rolls impossible dates over (Feb 30 -> Mar 2): refuse them instead.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 19) !== value.slice(0, 19))
    throw badInput(`${CLOCK_HEADER} must be a UTC ISO 8601 instant such as 2026-01-31T12:00:00Z.`);
  return new Date(ms);
}
