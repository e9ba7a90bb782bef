/**
 * How many streams one holder may have open at once: per connection (graphql-ws multiplexes many
 * subscriptions on one socket), per signed-in user and per client IP, across both transports.
 *
 * Counted in this gateway process's memory, not in Redis: a stream is bound to a socket that one
 * process holds, so the count here is exact, costs no round trip on subscribe, keeps working while
 * Redis is down, and needs no clean-up after a crash (the counts die with the sockets they count).
 * The price: with several gateway processes (GATEWAY_WORKERS, or several hosts) a user or an IP may
 * hold up to that many times the limit, one limit per process; the limit is still finite, and the
 * endpoint's Redis rate limits bound how fast streams can be opened.
 */
import { ErrorCode, appError } from '@coursegraph/service-kit';

export interface StreamLimitsOptions {
  /** Streams one graphql-ws connection may multiplex (an SSE connection carries one). */
  perConnection: number;
  /** Streams one signed-in user may hold over all their connections. */
  perUser: number;
  /** Streams one client IP may hold over all its connections. */
  perIp: number;
}

/** Who would hold a new stream. */
export interface StreamHolder {
  /** The connection (any object unique to it: the WebSocket, the SSE response). */
  connection: object;
  userId: string | null;
  /** The client's address (see client-ip.ts); 'unknown' when not known. */
  ip: string;
}

type Scope = 'connection' | 'user' | 'ip';

const WHO: Record<Scope, string> = { connection: 'this connection', user: 'your account', ip: 'your address' };

/** One holder's count in one scope; the map's key type stays with its map. */
interface Counter {
  scope: Scope;
  limit: number;
  open: () => number;
  /** Counts one more stream (1) or one fewer (-1); a count that reaches 0 leaves the map. */
  add: (delta: 1 | -1) => void;
}

function counter<K>(scope: Scope, counts: Map<K, number>, key: K, limit: number): Counter {
  const open = () => counts.get(key) ?? 0;
  return {
    scope,
    limit,
    open,
    add: (delta) => {
      const next = open() + delta;
      if (next > 0) counts.set(key, next);
      else counts.delete(key);
    },
  };
}

export class StreamLimits {
  private readonly byConnection = new Map<object, number>();
  private readonly byUser = new Map<string, number>();
  private readonly byIp = new Map<string, number>();

  constructor(private readonly options: StreamLimitsOptions) {}

  /**
   * Counts a new stream for `holder`, or throws RATE_LIMITED (reason TOO_MANY_STREAMS, with the
   * scope, the figure and the limit) and counts nothing. Returns the release, safe to call twice.
   */
  acquire(holder: StreamHolder): () => void {
    const counters: Counter[] = [
      counter('connection', this.byConnection, holder.connection, this.options.perConnection),
      ...(holder.userId ? [counter('user', this.byUser, holder.userId, this.options.perUser)] : []),
      // In-process calls have no address: they are the gateway's own, not a client's.
      ...(holder.ip !== 'unknown' ? [counter('ip', this.byIp, holder.ip, this.options.perIp)] : []),
    ];
    for (const { scope, limit, open } of counters) {
      const count = open();
      if (count >= limit) {
        throw appError(
          ErrorCode.RATE_LIMITED,
          `Too many open streams for ${WHO[scope]}: ${count} are open and the limit is ${limit}. Close one before opening another.`,
          {
            reason: 'TOO_MANY_STREAMS',
            scope,
            open: count,
            limit,
          },
        );
      }
    }
    for (const { add } of counters) add(1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const { add } of counters) add(-1);
    };
  }

  /** Open streams right now, for a user and an IP (logs and tests). */
  openFor(who: { userId?: string; ip?: string }): { user: number; ip: number } {
    return { user: who.userId ? (this.byUser.get(who.userId) ?? 0) : 0, ip: who.ip ? (this.byIp.get(who.ip) ?? 0) : 0 };
  }
}
