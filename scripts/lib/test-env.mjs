import { withNatsUser, withRedisPassword } from './credentials.mjs';

// The environment tests run in: the same PostgreSQL and Redis servers as `npm start`, but their own
// database and Redis database, and a NATS server of their own (its own port and JetStream store), so
// a running demo platform and a test run never see each other's data or events.
export function testEnv(env = process.env) {
  return {
    POSTGRES_DB: env.TEST_POSTGRES_DB || 'coursegraph_test',
    // With the generated credentials (scripts/lib/credentials.mjs): NATS as `operator`, since tests
    // create scratch streams; the platforms they start give each service its own user.
    REDIS_URL: withRedisPassword(env.TEST_REDIS_URL || 'redis://127.0.0.1:6379/1'),
    NATS_URL: withNatsUser(env.TEST_NATS_URL || 'nats://127.0.0.1:4223', 'operator'),
    LOG_LEVEL: env.LOG_LEVEL || 'warn',
    COURSEGRAPH_MODE: 'test',
  };
}
