import { describe, expect, it } from 'vitest';
import { ConfigError, commonSettings, jwksSetting, readConfig, type ConfigSpec } from '../src/config.js';
import {
  databasePasswordProblem,
  jwksUrlProblem,
  natsCredentialsProblem,
  parseHostList,
  redisCredentialsProblem,
  sandboxProviderProblem,
} from '../src/production-profile.js';
import { readConfigWithChecks } from '../src/startup-checks.js';

/** A production deployment that passes every check of commonSettings and jwksSetting. */
const FIT = {
  COURSEGRAPH_MODE: 'production',
  INTERNAL_SIGNING_SECRET: 'a-production-secret-of-at-least-32-characters',
  REDIS_URL: 'redis://:redis-pw@redis.internal:6379',
  NATS_URL: 'nats://course:nats-pw@nats.internal:4222',
  IDENTITY_JWKS_URL: 'https://identity.internal/.well-known/jwks.json',
};

const spec = { ...commonSettings, ...jwksSetting } satisfies ConfigSpec;

async function problemsOf(promise: Promise<unknown>): Promise<string[]> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return (err as ConfigError).problems;
}

describe('the production profile checks', () => {
  it('databasePasswordProblem: no password, the admin default and cg_<context>_dev are refused', () => {
    for (const url of [
      'postgres://cg_course:cg_course_dev@127.0.0.1:5432/coursegraph',
      'postgres://cg_payment:cg_payment_dev@db.internal/coursegraph',
      'postgres://postgres:postgres@db.internal/postgres',
      'postgres://cg_identity@db.internal/coursegraph?password=cg_identity_dev',
    ]) {
      expect(databasePasswordProblem(url), url).toMatch(/development password/);
    }
    expect(databasePasswordProblem('postgres://cg_course@db.internal/coursegraph')).toMatch(/has no password/);
    expect(databasePasswordProblem('postgres://cg_course:@db.internal/coursegraph')).toMatch(/has no password/);
    // Passwords of one's own pass, and so does a client certificate in place of one.
    expect(databasePasswordProblem('postgres://cg_course:Kq7%40x9%21zz@db.internal/coursegraph')).toBeUndefined();
    expect(databasePasswordProblem('postgres://cg_course:cg_course_dev_2@db.internal/coursegraph')).toBeUndefined();
    expect(
      databasePasswordProblem(
        'postgres://cg_course@db.internal/coursegraph?sslcert=/etc/cg/course.crt&sslkey=/etc/cg/course.key',
      ),
    ).toBeUndefined();
  });

  it('redisCredentialsProblem: a Redis URL needs a password', () => {
    expect(redisCredentialsProblem('redis://127.0.0.1:6379')).toMatch(/has no password/);
    expect(redisCredentialsProblem('redis://127.0.0.1:6379/1')).toMatch(/has no password/);
    expect(redisCredentialsProblem('redis://gateway@redis.internal:6379')).toMatch(/has no password/);
    expect(redisCredentialsProblem('redis://:s3cret@redis.internal:6379')).toBeUndefined();
    expect(redisCredentialsProblem('rediss://gateway:s3cret@redis.internal:6380/1')).toBeUndefined();
  });

  it('natsCredentialsProblem: a NATS URL needs a user and password or a token', () => {
    expect(natsCredentialsProblem('nats://127.0.0.1:4222')).toMatch(/has no credentials/);
    expect(natsCredentialsProblem('nats://:pw@nats.internal:4222')).toMatch(/has no credentials/);
    expect(natsCredentialsProblem('nats://payment:s3cret@nats.internal:4222')).toBeUndefined();
    expect(natsCredentialsProblem('nats://s3cret-token@nats.internal:4222')).toBeUndefined();
  });

  it('jwksUrlProblem: https always; plain http only to an allow-listed host; other schemes never', () => {
    expect(jwksUrlProblem('https://identity.example.com/.well-known/jwks.json', [])).toBeUndefined();
    expect(jwksUrlProblem('http://127.0.0.1:4001/.well-known/jwks.json', [])).toMatch(
      /plain HTTP.*\(127\.0\.0\.1\) in JWKS_HTTP_ALLOWED_HOSTS/,
    );
    expect(jwksUrlProblem('http://127.0.0.1:4001/.well-known/jwks.json', ['127.0.0.1'])).toBeUndefined();
    expect(jwksUrlProblem('http://IDENTITY.internal/.well-known/jwks.json', ['identity.internal'])).toBeUndefined();
    expect(jwksUrlProblem('http://[::1]:4001/.well-known/jwks.json', ['::1'])).toBeUndefined();
    // The list names exact hosts: neither a suffix nor another host passes.
    expect(jwksUrlProblem('http://evil-identity.internal/jwks.json', ['identity.internal'])).toMatch(/plain HTTP/);
    expect(jwksUrlProblem('http://identity.internal.evil.com/jwks.json', ['identity.internal'])).toMatch(/plain HTTP/);
    expect(jwksUrlProblem('file:///etc/jwks.json', ['localhost'])).toMatch(
      /uses file: the keys must be fetched over https/,
    );
  });

  it('sandboxProviderProblem: the sandbox is refused, a real provider passes', () => {
    expect(sandboxProviderProblem('sandbox')).toMatch(/sandbox provider, which takes no money/);
    expect(sandboxProviderProblem('stripe')).toBeUndefined();
  });

  it('parseHostList: host names only, lower-cased; a scheme, port, path or wildcard is a clear error', () => {
    expect(parseHostList('')).toEqual([]);
    expect(parseHostList(' 127.0.0.1 , Identity.Internal,[::1], ::1 ')).toEqual([
      '127.0.0.1',
      'identity.internal',
      '::1',
      '::1',
    ]);
    for (const bad of [
      'http://identity.internal',
      'identity.internal:4001',
      'identity.internal/jwks',
      '*.internal',
      'user@identity.internal',
      'a b',
    ]) {
      expect(() => parseHostList(bad), bad).toThrow(/is not a host name/);
    }
  });
});

describe('readConfig in production mode', () => {
  it('lists the signing secret and every profile problem of the settings a service has, in one ConfigError', () => {
    let error: unknown;
    try {
      readConfig(spec, { COURSEGRAPH_MODE: 'production' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    // In the order of the settings.
    expect(problems).toEqual([
      expect.stringMatching(/^REDIS_URL has no password/),
      expect.stringMatching(/^NATS_URL has no credentials/),
      expect.stringMatching(/^INTERNAL_SIGNING_SECRET must be set to a secret of your own/),
      expect.stringMatching(/^IDENTITY_JWKS_URL is plain HTTP/),
    ]);
    // One message names them all, so one log line tells the operator everything.
    for (const name of ['INTERNAL_SIGNING_SECRET', 'REDIS_URL', 'NATS_URL', 'IDENTITY_JWKS_URL'])
      expect((error as Error).message).toContain(name);
  });

  it('lists invalid values and profile problems together', () => {
    let problems: string[] = [];
    try {
      readConfig(spec, {
        ...FIT,
        REDIS_URL: 'redis://127.0.0.1:6379',
        JWKS_HTTP_ALLOWED_HOSTS: 'http://x',
        LOG_LEVEL: 'loud',
      });
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toHaveLength(3);
    expect(problems).toContainEqual(expect.stringMatching(/^LOG_LEVEL="loud"/));
    expect(problems).toContainEqual(
      expect.stringMatching(/^JWKS_HTTP_ALLOWED_HOSTS="http:\/\/x": "http:\/\/x" is not a host name/),
    );
    expect(problems).toContainEqual(expect.stringMatching(/^REDIS_URL has no password/));
  });

  it('passes a deployment with credentials, https (or an allow-listed http host) and a secret of its own', () => {
    expect(readConfig(spec, FIT).mode).toBe('production');
    const config = readConfig(spec, {
      ...FIT,
      IDENTITY_JWKS_URL: 'http://identity.internal:4001/.well-known/jwks.json',
      JWKS_HTTP_ALLOWED_HOSTS: 'identity.internal',
    });
    expect(config.jwksHttpAllowedHosts).toEqual(['identity.internal']);
  });

  it('checks nothing of the profile in development and test', () => {
    expect(readConfig(spec, {}).redisUrl).toBe('redis://127.0.0.1:6379');
    expect(readConfig(spec, { COURSEGRAPH_MODE: 'test' }).natsUrl).toBe('nats://127.0.0.1:4222');
  });
});

describe('readConfigWithChecks (checks that need a dependency)', () => {
  const flagged = { what: 'the flag', run: async () => 'the flag is still up' };
  const clean = { what: 'the clean thing', run: async () => undefined };
  const broken = {
    what: 'the database check',
    run: async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    },
  };

  it("adds their problems to the settings' problems, in one ConfigError", async () => {
    const problems = await problemsOf(
      readConfigWithChecks(spec, [flagged, clean], { ...FIT, NATS_URL: 'nats://127.0.0.1:4222' }),
    );
    expect(problems).toEqual([expect.stringMatching(/^NATS_URL has no credentials/), 'the flag is still up']);
  });

  it('fails closed: a check that cannot be made is a problem', async () => {
    expect(await problemsOf(readConfigWithChecks(spec, [broken], FIT))).toEqual([
      'the database check could not be checked: connect ECONNREFUSED 127.0.0.1:5432',
    ]);
  });

  it('hands the checks the settings that parsed, and resolves the frozen settings when nothing is wrong', async () => {
    let seen: unknown;
    const config = await readConfigWithChecks(
      spec,
      [{ what: 'seen', run: async (c) => void (seen = c.redisUrl) }],
      FIT,
    );
    expect(seen).toBe(FIT.REDIS_URL);
    expect(Object.isFrozen(config)).toBe(true);
    expect(config.natsUrl).toBe(FIT.NATS_URL);
  });

  it('runs no check outside production', async () => {
    let ran = false;
    const config = await readConfigWithChecks(spec, [{ what: 'x', run: async () => ((ran = true), 'problem') }], {
      COURSEGRAPH_MODE: 'development',
    });
    expect(ran).toBe(false);
    expect(config.mode).toBe('development');
  });
});
