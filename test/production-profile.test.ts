/**
 * The production profile (COURSEGRAPH_MODE=production) as each service applies it: every service's
 * settings list what production refuses; the built services really refuse to start, with one message
 * listing every problem, before they listen; the demo tooling refuses to run at all. Identity's
 * demo-admin check is in subgraphs/identity/test/demo-admin-check.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig, type ConfigSpec } from '@coursegraph/service-kit';
import path from 'node:path';
import { contextDatabaseUrl, freePort, ROOT, runNode, runProcess } from '@coursegraph/test-support';
import { gatewaySettings } from '../gateway/src/config.js';
import { identitySettings } from '../subgraphs/identity/src/config.js';
import { courseSettings } from '../subgraphs/course/src/config.js';
import { enrollmentSettings } from '../subgraphs/enrollment/src/config.js';
import { paymentSettings } from '../subgraphs/payment/src/config.js';
import { notificationSettings } from '../subgraphs/notification/src/config.js';
import { learningSettings } from '../subgraphs/learning/src/config.js';
import { aiSettings } from '../subgraphs/ai/src/config.js';
import { flagsServiceSettings } from '../subgraphs/flags/src/config.js';

/** Only what production mode needs set: nothing of the test run's environment leaks in. */
const PRODUCTION = { COURSEGRAPH_MODE: 'production' };

/** Everything a production deployment of any service sets to pass the profile. */
const FIT = {
  ...PRODUCTION,
  INTERNAL_SIGNING_SECRET: 'a-production-secret-of-at-least-32-characters',
  REDIS_URL: 'redis://:redis-pw@redis.internal:6379',
  NATS_URL: 'nats://svc:nats-pw@nats.internal:4222',
  IDENTITY_JWKS_URL: 'https://identity.internal/.well-known/jwks.json',
  PAYMENT_PROVIDER: 'stripe',
  STRIPE_SECRET_KEY: 'sk_live_of_its_own',
  STRIPE_WEBHOOK_SECRET: 'whsec_of_its_own',
  ...Object.fromEntries(
    ['IDENTITY', 'COURSE', 'ENROLLMENT', 'PAYMENT', 'NOTIFICATION', 'LEARNING', 'AI', 'FLAGS'].map((c) => [
      `${c}_DATABASE_URL`,
      `postgres://cg_${c.toLowerCase()}:Own-pw-1@db.internal/coursegraph`,
    ]),
  ),
};

const problemsOf = (spec: ConfigSpec, env: Record<string, string>): string[] => {
  try {
    readConfig(spec, env);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
};

/** The variable each problem is about (its first word). */
const variables = (problems: string[]) => problems.map((p) => p.split(/[ =]/)[0]).sort();

const shared = ['INTERNAL_SIGNING_SECRET', 'NATS_URL', 'REDIS_URL'];
const services: [string, ConfigSpec, string[]][] = [
  ['gateway', gatewaySettings, [...shared, 'IDENTITY_JWKS_URL']],
  // Identity serves the keys rather than fetching them; its demo admin is checked against its database at start-up.
  ['identity', identitySettings, [...shared, 'IDENTITY_DATABASE_URL']],
  ['course', courseSettings, [...shared, 'IDENTITY_JWKS_URL', 'COURSE_DATABASE_URL']],
  ['enrollment', enrollmentSettings, [...shared, 'IDENTITY_JWKS_URL', 'ENROLLMENT_DATABASE_URL']],
  ['payment', paymentSettings, [...shared, 'IDENTITY_JWKS_URL', 'PAYMENT_DATABASE_URL', 'PAYMENT_PROVIDER']],
  ['notification', notificationSettings, [...shared, 'IDENTITY_JWKS_URL', 'NOTIFICATION_DATABASE_URL']],
  ['learning', learningSettings, [...shared, 'IDENTITY_JWKS_URL', 'LEARNING_DATABASE_URL']],
  ['ai', aiSettings, [...shared, 'IDENTITY_JWKS_URL', 'AI_DATABASE_URL']],
  ['flags', flagsServiceSettings, [...shared, 'IDENTITY_JWKS_URL', 'FLAGS_DATABASE_URL']],
];

describe('each service applies the checks of the settings it has', () => {
  for (const [name, spec, expected] of services) {
    it(`${name}: refuses the development defaults, and starts on a fit configuration`, () => {
      expect(variables(problemsOf(spec, PRODUCTION))).toEqual([...expected].sort());
      expect(problemsOf(spec, FIT)).toEqual([]);
      // Development and test still run on the defaults.
      expect(problemsOf(spec, {})).toEqual([]);
    });
  }
});

describe('payment with Stripe', () => {
  it('needs the secret key and the webhook secret in production; development asks only for the key', () => {
    const stripe = { ...FIT, STRIPE_SECRET_KEY: '', STRIPE_WEBHOOK_SECRET: '' };
    const problems = problemsOf(paymentSettings, stripe);
    expect(variables(problems)).toEqual(['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET']);
    expect(problems).toContainEqual(
      expect.stringMatching(
        /^STRIPE_WEBHOOK_SECRET is required in production: without it refunds and disputes made at Stripe are never applied/,
      ),
    );
    expect(problemsOf(paymentSettings, { PAYMENT_PROVIDER: 'stripe' })).toEqual([]);
  });
});

describe('ai with a real model provider or embedding', () => {
  it('needs their API keys in production', () => {
    const problems = problemsOf(aiSettings, { ...FIT, AI_PROVIDER: 'anthropic', AI_EMBEDDING: 'http' });
    expect(variables(problems)).toEqual(['AI_EMBEDDING_API_KEY', 'ANTHROPIC_API_KEY']);
    expect(problemsOf(aiSettings, { ...FIT, AI_PROVIDER: 'anthropic', ANTHROPIC_API_KEY: 'sk-ant-own' })).toEqual([]);
  });
});

describe('a built service in production mode exits 2 before listening, with one message listing every problem', () => {
  /** The test run's environment (test database, Redis, NATS) in production mode, with the development signing secret. */
  // The test run's services, with Redis and NATS reached without credentials (the test run's URLs carry them).
  const productionOfTests = () => ({
    ...process.env,
    ...PRODUCTION,
    INTERNAL_SIGNING_SECRET: '',
    LOG_LEVEL: 'info',
    REDIS_URL: 'redis://127.0.0.1:6379/1',
    NATS_URL: 'nats://127.0.0.1:4223',
  });

  it('course: development database password, Redis and NATS without credentials, plain-HTTP JWKS, development secret', async () => {
    const port = await freePort();
    const run = await runNode('subgraphs/course/dist/main.js', [], {
      ...productionOfTests(),
      COURSE_PORT: String(port),
      COURSE_DATABASE_URL: contextDatabaseUrl('course'),
    });
    expect(run.code).toBe(2);
    const [header, ...lines] = run.stderr.trim().split('\n');
    expect(header).toBe('invalid configuration:');
    expect(lines.map((l) => l.trim())).toEqual([
      expect.stringMatching(/^REDIS_URL has no password/),
      expect.stringMatching(/^NATS_URL has no credentials/),
      expect.stringMatching(/^INTERNAL_SIGNING_SECRET must be set to a secret of your own/),
      expect.stringMatching(
        /^IDENTITY_JWKS_URL is plain HTTP: use https, or name its host \(127\.0\.0\.1\) in JWKS_HTTP_ALLOWED_HOSTS/,
      ),
      expect.stringMatching(/^COURSE_DATABASE_URL uses a development password/),
    ]);
    // Nothing was logged: it never got as far as listening.
    expect(run.stdout).not.toMatch(/listening/);
  });

  it('payment: the sandbox provider too, and an allow-listed http JWKS host is no longer a problem', async () => {
    const port = await freePort();
    const run = await runNode('subgraphs/payment/dist/main.js', [], {
      ...productionOfTests(),
      PAYMENT_PORT: String(port),
      PAYMENT_DATABASE_URL: contextDatabaseUrl('payment'),
      PAYMENT_PROVIDER: 'sandbox',
      JWKS_HTTP_ALLOWED_HOSTS: '127.0.0.1',
    });
    expect(run.code).toBe(2);
    const lines = run.stderr
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.trim());
    expect(variables(lines)).toEqual([
      'INTERNAL_SIGNING_SECRET',
      'NATS_URL',
      'PAYMENT_DATABASE_URL',
      'PAYMENT_PROVIDER',
      'REDIS_URL',
    ]);
    expect(lines).toContainEqual(
      expect.stringMatching(/^PAYMENT_PROVIDER selects the sandbox provider, which takes no money/),
    );
    expect(run.stdout).not.toMatch(/listening/);
  });

  it('search (Rust): NATS without credentials, listed with its other problems', async () => {
    // Built by npm test (cargo), as the platform runs it.
    const binary = path.join(ROOT, 'rust-subgraphs/target/debug/coursegraph-search');
    const run = await runProcess(binary, [], {
      ...productionOfTests(),
      SEARCH_PORT: 'http',
      SEARCH_INDEX_DIR: path.join(ROOT, '.data/never-created'),
    });
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      'search: invalid configuration:',
      expect.stringMatching(/^ {2}configuration: SEARCH_PORT must be a port number/),
      expect.stringMatching(/^ {2}configuration: NATS_URL has no credentials/),
    ]);
    expect(run.stdout).not.toMatch(/listening/);
  });

  it('video (Rust): the same profile as the TypeScript services, and its own signing secret', async () => {
    const binary = path.join(ROOT, 'rust-subgraphs/target/debug/coursegraph-video');
    const run = await runProcess(binary, [], {
      ...productionOfTests(),
      VIDEO_PORT: String(await freePort()),
      VIDEO_DATABASE_URL: contextDatabaseUrl('video'),
      VIDEO_STORAGE_DIR: path.join(ROOT, '.data/never-created'),
      VIDEO_SIGNING_SECRET: '',
      IDENTITY_JWKS_URL: '',
      JWKS_HTTP_ALLOWED_HOSTS: '',
    });
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      'video: invalid configuration:',
      expect.stringMatching(/^ {2}VIDEO_SIGNING_SECRET is the development default/),
      expect.stringMatching(/^ {2}VIDEO_DATABASE_URL uses a development password/),
      expect.stringMatching(/^ {2}NATS_URL has no credentials/),
      expect.stringMatching(/^ {2}REDIS_URL has no password/),
      expect.stringMatching(
        /^ {2}IDENTITY_JWKS_URL is plain HTTP: use https, or name its host \(127\.0\.0\.1\) in JWKS_HTTP_ALLOWED_HOSTS/,
      ),
    ]);
    expect(run.stdout).not.toMatch(/listening/);

    // An allow-listed http JWKS host and credentials in the URLs leave only what is still unfit.
    const fitter = await runProcess(binary, [], {
      ...productionOfTests(),
      VIDEO_PORT: 'http',
      VIDEO_DATABASE_URL: 'postgres://cg_video:Own-pw-1@127.0.0.1:9/none',
      VIDEO_STORAGE_DIR: path.join(ROOT, '.data/never-created'),
      VIDEO_SIGNING_SECRET: 'a-production-secret-of-forty-characters!!',
      REDIS_URL: 'redis://:redis-pw@127.0.0.1:9',
      NATS_URL: 'nats://video:nats-pw@127.0.0.1:9',
      JWKS_HTTP_ALLOWED_HOSTS: '127.0.0.1',
    });
    expect(fitter.code).toBe(2);
    expect(fitter.stderr.trim().split('\n')).toEqual([
      'video: invalid configuration:',
      expect.stringMatching(/^ {2}VIDEO_PORT must be a port number/),
    ]);
  });
});

describe('the demo tooling refuses production mode before touching anything', () => {
  /** Databases nobody answers at: a tool that tried to reach one would fail with another message. */
  const nowhere = 'postgres://nobody:nothing@127.0.0.1:9/none';
  const env = () => ({
    ...process.env,
    ...PRODUCTION,
    POSTGRES_ADMIN_URL: nowhere,
    ...Object.fromEntries(['IDENTITY', 'COURSE', 'ENROLLMENT', 'PAYMENT'].map((c) => [`${c}_DATABASE_URL`, nowhere])),
  });

  it('scripts/seed.mjs, every phase', async () => {
    for (const phase of ['catalog', 'activity', 'all']) {
      const run = await runNode('scripts/seed.mjs', [phase], env());
      expect(run.code, phase).toBe(2);
      expect(run.stderr).toBe(
        'the demo seed refuses to run with COURSEGRAPH_MODE=production: it writes demo data (known passwords, sandbox orders).\n',
      );
    }
  });

  it("each context's built seed", async () => {
    for (const seed of [
      'identity/dist/seed.js',
      'course/dist/seed.js',
      'payment/dist/seed.js',
      'payment/dist/seed-orders.js',
      'enrollment/dist/seed-enrollments.js',
      'learning/dist/seed.js',
    ]) {
      const run = await runNode(`subgraphs/${seed}`, [], env());
      expect(run.code, seed).toBe(2);
      expect(run.stderr, seed).toMatch(/^the \w+ demo (orders )?seed refuses to run with COURSEGRAPH_MODE=production/);
    }
  });

  it('npm start (scripts/start.mjs)', async () => {
    // No PATH: should the refusal ever go, start fails at its first command instead of installing or starting anything.
    const run = await runNode('scripts/start.mjs', [], { ...env(), PATH: '/nonexistent' });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'npm start (the demo platform) refuses to run with COURSEGRAPH_MODE=production: it writes demo data (known passwords, sandbox orders).\n',
    );
    expect(run.stdout).toBe('');
  });
});
