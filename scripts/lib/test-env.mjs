// The environment tests run in: the same PostgreSQL and Redis servers as `npm start`, but their own
// database and Redis database, and a NATS server of their own (its own port and JetStream store), so
// a running demo platform and a test run never see each other's data or events.
export function testEnv(env = process.env) {
  return {
    POSTGRES_DB: env.TEST_POSTGRES_DB || 'coursegraph_test',
    REDIS_URL: env.TEST_REDIS_URL || 'redis://127.0.0.1:6379/1',
    NATS_URL: env.TEST_NATS_URL || 'nats://127.0.0.1:4223',
    LOG_LEVEL: env.LOG_LEVEL || 'warn',
    COURSEGRAPH_MODE: 'test',
  };
}
