import { rateLimited, type Redis } from '@coursegraph/service-kit';

export interface LoginThrottleOptions {
  /** Failed attempts allowed per email within the window. */
  maxFailures: number;
  /** Window length in seconds; counting restarts after it. */
  windowSeconds: number;
}

/**
 * Brute-force protection for logIn: failed attempts are counted per email in Redis; past the limit
 * the email is locked for the rest of the window. A successful login clears the count.
 */
export class LoginThrottle {
  constructor(
    private readonly redis: Redis,
    private readonly options: LoginThrottleOptions,
  ) {}

  private key = (emailKey: string) => `identity:login-failures:${emailKey}`;

  /** Throws RATE_LIMITED when the email is locked. */
  async assertAllowed(emailKey: string): Promise<void> {
    const [[, count], [, ttl]] = (await this.redis.multi().get(this.key(emailKey)).ttl(this.key(emailKey)).exec()) as [
      [null, string | null],
      [null, number],
    ];
    if (Number(count ?? 0) >= this.options.maxFailures) {
      const retryAfter = Math.max(1, ttl);
      throw rateLimited(`Too many failed sign-in attempts for this email. Try again in ${retryAfter} seconds.`, retryAfter);
    }
  }

  async recordFailure(emailKey: string): Promise<void> {
    await this.redis.multi().incr(this.key(emailKey)).expire(this.key(emailKey), this.options.windowSeconds, 'NX').exec();
  }

  async recordSuccess(emailKey: string): Promise<void> {
    await this.redis.del(this.key(emailKey));
  }
}
