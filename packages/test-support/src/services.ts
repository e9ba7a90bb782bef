/**
 * vitest's global set-up: the services the tests talk to (scripts/lib/test-env.mjs: PostgreSQL,
 * Redis, and a NATS server of the tests' own) are started when they do not answer, so a plain
 * `npx vitest run <file>` works after one `npm test` (which also builds and migrates). What it
 * starts keeps running, as after `node scripts/stack.mjs up --test`.
 */
import { ensureStack, testEnv } from './scripts.js';

export default async function setup(): Promise<void> {
  Object.assign(process.env, testEnv());
  // Suites that run the platform in production mode need a signing secret of their own (the
  // development default is refused there).
  process.env.INTERNAL_SIGNING_SECRET ||= 'coursegraph-test-run-internal-signing-secret';
  // Every suite's gateway sees its requests come from 127.0.0.1, and suites run side by side on one
  // Redis: the per-address limits are raised for the test run (a suite that tests them sets its own
  // in startE2E's env; gateway/test/rate-limit.test.ts sets them per test).
  process.env.RATE_LIMIT_IP_PER_MINUTE ||= '100000';
  process.env.RATE_LIMIT_AUTH_PER_MINUTE ||= '100000';
  process.env.RATE_LIMIT_ENROL_PER_MINUTE ||= '100000';
  process.env.RATE_LIMIT_CHECKOUT_PER_MINUTE ||= '100000';
  // Identity's lock-out per address likewise: wrong passwords of every suite add up on 127.0.0.1.
  process.env.LOGIN_MAX_FAILURES_PER_IP ||= '100000';
  await ensureStack({ log: () => {} });
}
