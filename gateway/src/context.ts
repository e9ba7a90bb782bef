import type { Viewer } from '@coursegraph/service-kit';

/** The gateway's per-request context, also handed to every subgraph call. */
export interface GatewayContext extends Record<string, unknown> {
  requestId: string;
  viewer: Viewer | null;
  /** The verified token, forwarded to subgraphs as `Authorization: Bearer`. */
  accessToken: string | null;
  /** The caller's W3C traceparent when well-formed, forwarded to subgraphs (their events carry it). */
  traceparent?: string;
  /** The caller's x-coursegraph-clock, forwarded only when CLOCK_HEADER is on (tests move time with it). */
  clock?: string;
}
