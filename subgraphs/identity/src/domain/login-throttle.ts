import { appError, ErrorCode, type Logger, type Redis } from '@coursegraph/service-kit';

export interface LoginThrottleOptions {
  /** Failed attempts allowed per email within the window. */
  maxFailures: number;
  /** Failed attempts allowed per client IP within the window, over every email. */
  maxFailuresPerIp: number;
  /** Window length in seconds, from the first failure; counting restarts after it. */
  windowSeconds: number;
  logger?: Logger;
}

/** An attempt that was let through; settle it with the outcome of the password check. */
export interface LoginAttempt {
  /** The password was right: the email's failures are forgotten, the IP's reservation is given back. */
  succeeded(): Promise<void>;
  /** The password was wrong (or the email unknown): the reservation stays, as a failure. */
  failed(): void;
  /** Nothing was decided (an outage after the reservation): every reservation is given back. */
  abandoned(): Promise<void>;
}

// KEYS: counters (email, then IP). ARGV[1]: window seconds; ARGV[1 + i]: the limit of KEYS[i].
// Refuses when any counter is at its limit, else counts the attempt on every counter at once, so
// concurrent attempts can never pass the limit between a check and a count.
const RESERVE = `
for i = 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[i + 1]) then
    return { i, redis.call('TTL', KEYS[i]) }
  end
end
for i = 1, #KEYS do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[1], 'NX')
end
return { 0, 0 }
`;

// Gives one reservation back on every counter (never below zero).
const RELEASE = `
for i = 1, #KEYS do
  if redis.call('DECR', KEYS[i]) <= 0 then redis.call('DEL', KEYS[i]) end
end
return 0
`;

/**
 * Brute-force protection for logIn, counted per email and per client IP in Redis. An attempt is
 * reserved atomically BEFORE the password is checked, so twenty concurrent guesses against a
 * limit of five reach the check five times; past the limit the email (or the address) is locked
 * for the rest of the window, whatever password comes. A successful login clears its email's
 * count. Redis down: sign-in is refused (fail closed, RATE_LIMITED with reason
 * LOCKOUT_UNAVAILABLE and a short retry): without the counter, guessing would be unlimited.
 */
export class LoginThrottle {
  /** `redis` comes from the kit's createRedis: its commands fail after REDIS_COMMAND_TIMEOUT_MS. */
  constructor(
    private readonly redis: Redis,
    private readonly options: LoginThrottleOptions,
  ) {}

  private emailKey = (emailKey: string) => `identity:login-failures:${emailKey}`;
  private ipKey = (ip: string) => `identity:login-failures-ip:${ip}`;

  /**
   * Reserves one attempt for the email (and the client IP, when the gateway vouched for one), or
   * throws RATE_LIMITED: reason LOGIN_LOCKED with `scope` email or ip, or LOCKOUT_UNAVAILABLE.
   */
  async reserve(emailKey: string, clientIp: string | null): Promise<LoginAttempt> {
    const keys = [this.emailKey(emailKey), ...(clientIp ? [this.ipKey(clientIp)] : [])];
    const limits = [this.options.maxFailures, ...(clientIp ? [this.options.maxFailuresPerIp] : [])];
    let outcome: [number, number];
    try {
      outcome = (await this.redis.eval(
        RESERVE,
        keys.length,
        ...keys,
        String(this.options.windowSeconds),
        ...limits.map(String),
      )) as [number, number];
    } catch (err) {
      this.options.logger?.warn({ err: (err as Error).message }, 'login lock-out unavailable (Redis): sign-in refused');
      throw appError(ErrorCode.RATE_LIMITED, 'Sign-in is briefly unavailable. Try again in a few seconds.', {
        reason: 'LOCKOUT_UNAVAILABLE',
        retryAfterSeconds: 5,
      });
    }
    const [lockedBy, ttl] = outcome;
    if (lockedBy !== 0) {
      const retryAfterSeconds = Math.max(1, ttl);
      const scope = lockedBy === 1 ? 'email' : 'ip';
      const what = scope === 'email' ? 'for this email' : 'from your network address';
      throw appError(
        ErrorCode.RATE_LIMITED,
        `Too many failed sign-in attempts ${what}. Try again in ${retryAfterSeconds} seconds.`,
        { reason: 'LOGIN_LOCKED', scope, retryAfterSeconds },
      );
    }
    const release = (which: string[]) =>
      this.redis.eval(RELEASE, which.length, ...which).then(
        () => undefined,
        (err: Error) =>
          this.options.logger?.warn({ err: err.message }, 'login lock-out: could not give a reservation back'),
      );
    return {
      succeeded: async () => {
        // The email's failures are forgiven; the address keeps the failures it made elsewhere.
        await this.redis.del(keys[0]!).catch(() => undefined);
        if (keys[1]) await release([keys[1]]);
      },
      failed: () => {},
      abandoned: () => release(keys),
    };
  }
}
