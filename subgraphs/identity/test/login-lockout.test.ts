/**
 * The login lock-out, against the real test Redis: attempts are reserved atomically before the
 * password is checked (concurrent guesses cannot pass the limit), counted per email and per client
 * IP (as the gateway signs it), and sign-in fails closed while Redis is away. Password hashing runs
 * under a concurrency bound with a bounded queue. The real argon2 runs, wrapped to count calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomInt } from 'node:crypto';
import { signClientIp } from '@coursegraph/service-kit';
import {
  errorCode,
  freePort,
  GOOD_PASSWORD,
  type GraphQLResponse,
  postGraphQL,
  uniqueEmail,
} from '@coursegraph/test-support';
import { nodeArgon2, type Argon2 } from '../src/domain/password-hash.js';
import { startIdentity, type IdentityHarness } from './harness.js';

const LOG_IN = `mutation($input: LogInInput!) { logIn(input: $input) { accessToken user { id } } }`;

/** The real argon2, counting verifications per password and the most running at once. */
function watchedArgon2() {
  const verified = new Map<string, number>();
  let running = 0;
  let peak = 0;
  const watch = async <T>(work: () => Promise<T>) => {
    running++;
    peak = Math.max(peak, running);
    try {
      return await work();
    } finally {
      running--;
    }
  };
  const argon2: Argon2 = {
    hash: (password) => watch(() => nodeArgon2.hash(password)),
    verify: (hash, password) => {
      verified.set(password, (verified.get(password) ?? 0) + 1);
      return watch(() => nodeArgon2.verify(hash, password));
    },
  };
  return {
    argon2,
    verifiedWith: (password: string) => verified.get(password) ?? 0,
    peak: () => peak,
    resetPeak: () => void (peak = running),
  };
}

/** An address of TEST-NET-3 no other test uses. */
const someIp = () => `203.0.113.${randomInt(1, 255)}`;

const logIn = (
  h: IdentityHarness,
  email: string,
  password: string,
  ip?: string,
  signWith?: string,
): Promise<GraphQLResponse> => {
  const requestId = `req-${randomInt(1e9)}`;
  const signed = ip ? signClientIp(signWith ?? h.config.internalSigningSecret, ip, requestId) : {};
  return postGraphQL(
    (url, init) => h.app.yoga.fetch(url, init),
    'http://identity.test/graphql',
    LOG_IN,
    { input: { email, password } },
    undefined,
    {
      'x-request-id': requestId,
      ...signed,
    },
  );
};

const reasonOf = (res: GraphQLResponse) => res.body.errors?.[0]?.extensions?.reason;

describe('login lock-out', () => {
  const watched = watchedArgon2();
  let h: IdentityHarness;
  beforeAll(async () => {
    h = await startIdentity(
      { LOGIN_MAX_FAILURES: '5', LOGIN_MAX_FAILURES_PER_IP: '4', LOGIN_FAILURE_WINDOW_SECONDS: '3' },
      { argon2: watched.argon2 },
    );
  });
  afterAll(() => h.close());

  it('lets exactly the limit of 20 concurrent wrong passwords reach the password check', async () => {
    const { email } = await h.signUp('concurrent');
    const wrong = `wrong-${randomInt(1e9)}`;
    const results = await Promise.all(Array.from({ length: 20 }, () => logIn(h, email, wrong)));
    expect(watched.verifiedWith(wrong)).toBe(5);
    expect(results.filter((r) => errorCode(r) === 'UNAUTHENTICATED')).toHaveLength(5);
    const limited = results.filter((r) => errorCode(r) === 'RATE_LIMITED');
    expect(limited).toHaveLength(15);
    for (const r of limited)
      expect(r.body.errors![0]!.extensions).toMatchObject({
        reason: 'LOGIN_LOCKED',
        scope: 'email',
        retryAfterSeconds: expect.any(Number),
      });
  });

  it('refuses the right password while locked, without checking it, and accepts it once the window ends', async () => {
    const { email } = await h.signUp('locked');
    for (let i = 0; i < 5; i++) expect(errorCode(await logIn(h, email, `guess-${i}`))).toBe('UNAUTHENTICATED');
    const checksBefore = watched.verifiedWith(GOOD_PASSWORD);
    const locked = await logIn(h, email, GOOD_PASSWORD);
    expect(errorCode(locked)).toBe('RATE_LIMITED');
    expect(locked.body.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(watched.verifiedWith(GOOD_PASSWORD)).toBe(checksBefore);
    // The window is 3 s here: poll until it has ended (bounded), then the right password works.
    let res = locked;
    for (let i = 0; i < 50 && errorCode(res) === 'RATE_LIMITED'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      res = await logIn(h, email, GOOD_PASSWORD);
    }
    expect(res.body.data?.logIn.accessToken).toBeTruthy();
  });

  it('locks a client address after failures across many emails, and only that address', async () => {
    const ip = someIp();
    for (let i = 0; i < 4; i++)
      expect(errorCode(await logIn(h, uniqueEmail('spray'), 'not-the-password', ip))).toBe('UNAUTHENTICATED');
    const victim = await h.signUp('victim');
    const fromThere = await logIn(h, victim.email, GOOD_PASSWORD, ip);
    expect(errorCode(fromThere)).toBe('RATE_LIMITED');
    expect(fromThere.body.errors![0]!.extensions).toMatchObject({ reason: 'LOGIN_LOCKED', scope: 'ip' });
    // The same person from another address signs in; the victim's email is not locked.
    expect((await logIn(h, victim.email, GOOD_PASSWORD, someIp())).body.data?.logIn).toBeTruthy();
  });

  it('counts concurrent guesses from one address atomically too', async () => {
    const ip = someIp();
    const wrong = `spray-${randomInt(1e9)}`;
    const results = await Promise.all(Array.from({ length: 12 }, () => logIn(h, uniqueEmail('spray'), wrong, ip)));
    expect(watched.verifiedWith(wrong)).toBe(4);
    expect(results.filter((r) => errorCode(r) === 'RATE_LIMITED')).toHaveLength(8);
  });

  it('does not count successful sign-ins against the address', async () => {
    const ip = someIp();
    const people = await Promise.all(Array.from({ length: 6 }, (_, i) => h.signUp(`office${i}`)));
    for (const p of people) expect((await logIn(h, p.email, GOOD_PASSWORD, ip)).body.data?.logIn).toBeTruthy();
    for (let i = 0; i < 3; i++)
      expect(errorCode(await logIn(h, uniqueEmail('typo'), 'typo', ip))).toBe('UNAUTHENTICATED');
    expect((await logIn(h, people[0]!.email, GOOD_PASSWORD, ip)).body.data?.logIn).toBeTruthy();
  });

  it('ignores an address that is not signed with the shared secret (a direct caller)', async () => {
    const ip = someIp();
    // Signed with another key: counted per email only, so the address never locks.
    for (let i = 0; i < 6; i++)
      expect(
        errorCode(await logIn(h, uniqueEmail('forged'), 'nope', ip, 'another-secret-of-at-least-32-chars!!')),
      ).toBe('UNAUTHENTICATED');
    const person = await h.signUp('forged');
    expect((await logIn(h, person.email, GOOD_PASSWORD, ip)).body.data?.logIn).toBeTruthy();
  });
});

describe('login lock-out with Redis unreachable', () => {
  it('fails closed: logIn is refused with LOCKOUT_UNAVAILABLE and a short retry', async () => {
    // A port nothing listens on: every Redis command fails.
    const h = await startIdentity({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    try {
      const res = await logIn(h, uniqueEmail('outage'), GOOD_PASSWORD);
      expect(errorCode(res)).toBe('RATE_LIMITED');
      expect(res.body.errors![0]!.extensions).toMatchObject({ reason: 'LOCKOUT_UNAVAILABLE', retryAfterSeconds: 5 });
    } finally {
      h.app.redis.disconnect();
      await h.app.db.$disconnect();
    }
  });
});

describe('password hashing bound', () => {
  it('never runs more argon2 operations at once than PASSWORD_HASH_CONCURRENCY under 30 parallel logIns', async () => {
    const watched = watchedArgon2();
    const h = await startIdentity(
      { PASSWORD_HASH_CONCURRENCY: '2', PASSWORD_HASH_QUEUE: '64' },
      { argon2: watched.argon2 },
    );
    try {
      const people = [];
      for (let i = 0; i < 30; i++) people.push(await h.signUp(`parallel${i}`));
      watched.resetPeak();
      const results = await Promise.all(people.map((p) => logIn(h, p.email, GOOD_PASSWORD)));
      expect(results.filter((r) => r.body.data?.logIn)).toHaveLength(30);
      expect(watched.peak()).toBe(2);
    } finally {
      await h.close();
    }
  });

  it('refuses at once past the queue, counting no failure, and the bound still holds', async () => {
    const watched = watchedArgon2();
    const h = await startIdentity(
      { PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE: '3' },
      { argon2: watched.argon2 },
    );
    try {
      const people = [];
      for (let i = 0; i < 30; i++) people.push(await h.signUp(`queue${i}`));
      watched.resetPeak();
      const results = await Promise.all(people.map((p) => logIn(h, p.email, GOOD_PASSWORD)));
      const busy = results.filter((r) => reasonOf(r) === 'PASSWORD_HASH_BUSY');
      const served = results.filter((r) => r.body.data?.logIn);
      expect(served.length + busy.length).toBe(30);
      expect(served.length).toBeGreaterThanOrEqual(4);
      expect(busy.length).toBeGreaterThan(0);
      for (const r of busy)
        expect(r.body.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 1 });
      expect(watched.peak()).toBe(1);
      // A refusal for want of a turn is not a failed password: the person signs in next time.
      const refusedIndex = results.findIndex((r) => reasonOf(r) === 'PASSWORD_HASH_BUSY');
      expect((await logIn(h, people[refusedIndex]!.email, GOOD_PASSWORD)).body.data?.logIn).toBeTruthy();
    } finally {
      await h.close();
    }
  });
});
