/**
 * The yoga plugin that applies the policy table before anything is executed: every request draws
 * from its IP's bucket (and its user's, when signed in) as soon as its parameters are read, and an
 * operation that selects limited root fields draws from those buckets before execution, one unit
 * per occurrence. A refusal is HTTP 429 with `Retry-After` and a RATE_LIMITED error carrying
 * `retryAfterSeconds` and `reason` (the policy). Answers carry the `RateLimit` and
 * `RateLimit-Policy` fields of draft-ietf-httpapi-ratelimit-headers-10 (structured fields:
 * `RateLimit-Policy: "ip";q=1200;w=60`, `RateLimit: "ip";r=1199;t=1`).
 *
 * Redis unreachable or slow (past REDIS_COMMAND_TIMEOUT_MS): limits fail open, so an outage of the limiter
 * never takes the endpoint down with it; one warning when the outage starts, one line when it ends.
 * The gateway's own in-process calls (no socket, see client-ip.ts) are not limited.
 */
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ErrorCode, type Logger } from '@coursegraph/service-kit';
import type { ClientIpResolver } from '../client-ip.js';
import { rootFieldCounts, type Policy, type PolicyTable } from './policies.js';
import { RateLimitStoreUnavailable, type Bucket, type Decision, type RateLimitStore } from './store.js';

export interface RateLimitOptions {
  /** Where the buckets are kept (Redis). */
  store: RateLimitStore;
  /** What is limited and how much (policies.ts). */
  policies: PolicyTable;
  /** Each request's client address; null marks the gateway's own in-process calls, never limited. */
  clientIp: ClientIpResolver;
  /** The signed-in user's id, or null (anonymous, or a token that does not verify). */
  userOf: (request: Request) => Promise<string | null>;
  /** Gets one warning when Redis stops answering, one line when it is back. */
  logger: Logger;
  /** Prefix of every Redis key. Default `gateway:rate-limit:`. */
  keyPrefix?: string;
  /** The explorer's sign-in path, counted as a logIn (it runs one in-process). Default `/explorer/session`. */
  explorerSignInPath?: string;
}

interface Drawn {
  policy: Policy;
  bucket: Bucket;
}

/** The error of a refused request, with the HTTP status and Retry-After yoga sends for it. */
export function rateLimitedError(policy: string, retryAfterSeconds: number, message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: ErrorCode.RATE_LIMITED,
      reason: policy,
      retryAfterSeconds,
      http: { status: 429, headers: { 'retry-after': String(retryAfterSeconds) } },
    },
  });
}

const quote = (name: string) => `"${name}"`;

/** The plugin, plus what requests served outside yoga need. */
export type RateLimitPlugin = Plugin & {
  /** The RateLimit headers a request earned. */
  headersOf(request: Request): Record<string, string>;
  /**
   * Draws one request from the client address's bucket (and the user's) for a request yoga never
   * sees (a subscription over SSE or WebSocket): the refusal to send, or null to go on.
   */
  admit(ip: string, userId: string | null): Promise<GraphQLError | null>;
};

export function useRateLimits(options: RateLimitOptions): RateLimitPlugin {
  const { store, policies, clientIp, userOf, logger } = options;
  const prefix = options.keyPrefix ?? 'gateway:rate-limit:';
  const explorerSignInPath = options.explorerSignInPath ?? '/explorer/session';
  // What each request drew, for its response headers; the most recent state per policy wins.
  const reported = new WeakMap<Request, Map<string, { policy: Policy; remaining: number; resetMs: number }>>();
  let outage = false;

  const bucketOf = (policy: Policy, subject: string, cost: number): Drawn => ({
    policy,
    bucket: {
      key: `${prefix}${policy.name}:${subject}`,
      limit: policy.limit,
      windowMs: policy.windowSeconds * 1000,
      cost,
    },
  });

  /** Draws from every bucket at once; returns the refusal to send, or null to go on. */
  const draw = async (request: Request | null, drawn: Drawn[]): Promise<GraphQLError | null> => {
    // A single request asking for more than a whole window allows could never pass: say so.
    const impossible = drawn.find((d) => d.bucket.cost > d.policy.limit);
    if (impossible) {
      return rateLimitedError(
        impossible.policy.name,
        impossible.policy.windowSeconds,
        `This request asks for ${impossible.bucket.cost} operations limited by "${impossible.policy.name}", which allows ${impossible.policy.limit} per ${impossible.policy.windowSeconds} seconds.`,
      );
    }
    let decision: Decision;
    try {
      decision = await store.take(drawn.map((d) => d.bucket));
    } catch (err) {
      if (!(err instanceof RateLimitStoreUnavailable)) throw err;
      if (!outage)
        logger.warn({ err: err.message }, 'rate limits unavailable (Redis): serving without them until it answers');
      outage = true;
      return null;
    }
    if (outage) logger.info('rate limits available again (Redis answers)');
    outage = false;
    if (request) {
      let report = reported.get(request);
      if (!report) reported.set(request, (report = new Map()));
      drawn.forEach((d, i) => report.set(d.policy.name, { policy: d.policy, ...decision.states[i]! }));
    }
    if (decision.allowed) return null;
    // The policy that refused: the first whose bucket cannot pay this cost now.
    const refusedBy = drawn.find((d, i) => decision.states[i]!.remaining < d.bucket.cost) ?? drawn[0]!;
    const retryAfterSeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    return rateLimitedError(
      refusedBy.policy.name,
      retryAfterSeconds,
      `Too many requests (limit "${refusedBy.policy.name}": ${refusedBy.policy.limit} per ${refusedBy.policy.windowSeconds} seconds). Try again in ${retryAfterSeconds} seconds.`,
    );
  };

  const subjectOf = async (request: Request, ip: string, policy: Policy) => {
    if (policy.scope === 'ip') return `ip:${ip}`;
    const user = await userOf(request);
    return user ? `user:${user}` : `ip:${ip}`;
  };

  const headersOf = (request: Request): Record<string, string> => {
    const report = reported.get(request);
    if (!report || report.size === 0) return {};
    const entries = [...report.values()];
    return {
      'ratelimit-policy': entries
        .map((e) => `${quote(e.policy.name)};q=${e.policy.limit};w=${e.policy.windowSeconds}`)
        .join(', '),
      ratelimit: entries
        .map((e) => `${quote(e.policy.name)};r=${e.remaining};t=${Math.ceil(e.resetMs / 1000)}`)
        .join(', '),
    };
  };

  return {
    headersOf,
    admit(ip, userId) {
      const drawn = [bucketOf(policies.ip, `ip:${ip}`, 1)];
      if (userId) drawn.push(bucketOf(policies.user, `user:${userId}`, 1));
      return draw(null, drawn);
    },
    async onRequest({ request, url, endResponse }) {
      if (url.pathname !== explorerSignInPath || request.method !== 'POST') return;
      const ip = clientIp.of(request);
      if (!ip) return;
      const auth = policies.fields.find((p) => p.fields.includes('mutation.logIn'));
      const refusal = await draw(request, [
        bucketOf(policies.ip, `ip:${ip}`, 1),
        ...(auth ? [bucketOf(auth, `ip:${ip}`, 1)] : []),
      ]);
      if (!refusal) return;
      const retryAfter = String(refusal.extensions.retryAfterSeconds);
      endResponse(
        new Response(
          JSON.stringify({
            error: refusal.message,
            code: ErrorCode.RATE_LIMITED,
            retryAfterSeconds: refusal.extensions.retryAfterSeconds,
          }),
          {
            status: 429,
            headers: { 'content-type': 'application/json', 'retry-after': retryAfter, ...headersOf(request) },
          },
        ),
      );
    },
    async onParams({ request, setResult }) {
      const ip = clientIp.of(request);
      if (!ip) return;
      const drawn = [bucketOf(policies.ip, `ip:${ip}`, 1)];
      const user = await userOf(request);
      if (user) drawn.push(bucketOf(policies.user, `user:${user}`, 1));
      const refusal = await draw(request, drawn);
      if (refusal) setResult({ errors: [refusal] });
    },
    async onExecute({ args, setResultAndStopExecution }) {
      const request = (args.contextValue as { request?: Request }).request;
      const ip = request && clientIp.of(request);
      if (!request || !ip) return;
      const counts = rootFieldCounts(args.document, args.operationName);
      const drawn: Drawn[] = [];
      for (const policy of policies.fields) {
        const cost = policy.fields.reduce((sum, field) => sum + (counts.get(field) ?? 0), 0);
        if (cost > 0) drawn.push(bucketOf(policy, await subjectOf(request, ip, policy), cost));
      }
      if (drawn.length === 0) return;
      const refusal = await draw(request, drawn);
      if (refusal) setResultAndStopExecution({ errors: [refusal] });
    },
    onResponse({ request, response }) {
      for (const [name, value] of Object.entries(headersOf(request))) response.headers.set(name, value);
    },
  };
}
