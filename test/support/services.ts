/**
 * vitest's global set-up: the services the tests talk to (scripts/lib/test-env.mjs: PostgreSQL,
 * Redis, and a NATS server of the tests' own) are started when they do not answer, so a plain
 * `npx vitest run <file>` works after one `npm test` (which also builds and migrates). What it
 * starts keeps running, as after `node scripts/stack.mjs up --test`.
 */
import { ensureStack } from '../../scripts/stack.mjs';
import { testEnv } from '../../scripts/lib/test-env.mjs';

export default async function setup(): Promise<void> {
  Object.assign(process.env, testEnv());
  await ensureStack({ log: () => {} });
}
