/**
 * Redis paused (SIGSTOP: connected, silent) under the whole platform, which runs on a redis-server
 * of this suite's own, never the shared one. Nothing hangs: Redis commands time out
 * (REDIS_COMMAND_TIMEOUT_MS) and each use applies its policy. The token revocation check fails
 * open (packages/service-kit/src/auth.ts), so a signed-in `{ me { id } }` still answers, with a
 * warning in the log; anonymous reads do not need Redis. Once Redis resumes everything is as
 * before, revocation included: a token signed out after the outage is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type E2E,
  GOOD_PASSWORD,
  type GraphQLResponse,
  person,
  type Person,
  privateRedis,
  type PrivateRedis,
  publishCourse,
  serviceLog,
  startE2E,
} from '@coursegraph/test-support';

const SUITE = 'redis-outage';

let redis: PrivateRedis;
let e2e: E2E;
let learner: Person;

beforeAll(async () => {
  redis = await privateRedis();
  e2e = await startE2E(SUITE, { env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '300' } });
  learner = await person(e2e);
  await publishCourse(e2e.gql, await person(e2e, 'INSTRUCTOR'));
});

afterAll(async () => {
  redis?.resume();
  await e2e?.platform.stop();
  await redis?.dispose();
});

/** Fails instead of hanging; the bound is far above any timeout in play and asserts nothing about speed. */
const bounded = <T>(what: string, call: Promise<T>) =>
  Promise.race([
    call,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what} hung while Redis was paused`)), 20_000),
    ),
  ]);

const ME = `{ me { id } }`;
const CATALOG = `{ catalog(first: 5) { totalCount edges { node { title instructor { name } enrollmentCount } } } }`;

/** The gateway's log lines (JSON). */
const gatewayLog = () => serviceLog(e2e, 'gateway');

const noErrors = (res: GraphQLResponse) => expect(res.body.errors).toBeUndefined();

describe('Redis paused under the platform', () => {
  it(
    'signed-in and anonymous requests still answer; after Redis resumes, revocation is enforced again',
    { timeout: 180_000 },
    async () => {
      const before = await e2e.gql(CATALOG);
      noErrors(before);
      noErrors(await e2e.gql(ME, {}, learner.token));

      redis.pause();
      try {
        // The revocation check cannot reach Redis: the signed, unexpired token is accepted (fail open).
        const me = await bounded('me', e2e.gql(ME, {}, learner.token));
        noErrors(me);
        expect(me.body.data).toEqual({ me: { id: learner.userId } });

        const catalog = await bounded('the catalog', e2e.gql(CATALOG));
        noErrors(catalog);
        expect(catalog.body.data).toEqual(before.body.data);

        // A forged token is still refused: failing open skips only the revocation lookup.
        const forged = await bounded('me with a bad token', e2e.gql(ME, {}, `${learner.token.slice(0, -4)}AAAA`));
        expect(forged.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

        // Signing in needs Redis (the lock-out counter): whatever identity's policy, a clear answer, not a hang.
        const logIn = await bounded(
          'logIn',
          e2e.gql(`mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }`, {
            i: { email: learner.email, password: GOOD_PASSWORD },
          }),
        );
        if (logIn.body.errors) expect(logIn.body.errors[0]!.extensions?.code).not.toBe('INTERNAL');
        else expect(logIn.body.data!.logIn.accessToken).toEqual(expect.any(String));
      } finally {
        redis.resume();
      }

      expect(gatewayLog().some((l) => String(l.msg).includes('token revocation check skipped'))).toBe(true);

      // Back to normal: the same answers, and a sign-out (written to Redis) ends the token at once.
      noErrors(await e2e.gql(ME, {}, learner.token));
      const after = await e2e.gql(CATALOG);
      expect(after.body.data).toEqual(before.body.data);
      const logOut = await e2e.gql(`mutation { logOut }`, {}, learner.token);
      noErrors(logOut);
      const revoked = await e2e.gql(ME, {}, learner.token);
      expect(revoked.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(revoked.body.errors?.[0]?.message).toMatch(/revoked/);
    },
  );
});
