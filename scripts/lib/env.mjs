// Configuration shared by the project's scripts (start, test, prisma, seed), read from the
// environment with working defaults. Services read their own settings; the start script hands
// them these values explicitly, so both agree.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withNatsUser, withRedisPassword } from './credentials.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Every bounded context gets its own PostgreSQL role and schema, whether or not it has tables yet. */
export const CONTEXTS = [
  'identity',
  'course',
  'enrollment',
  'payment',
  'notification',
  'learning',
  'video',
  'ai',
  'flags',
];

export const env = (name, fallback) => (process.env[name] && process.env[name] !== '' ? process.env[name] : fallback);

/** Local service data, logs, mail and the generated credentials: COURSEGRAPH_DATA_DIR, default <repo>/.data. */
export const dataDir = () => path.resolve(env('COURSEGRAPH_DATA_DIR', path.join(ROOT, '.data')));

/** The port each server listens on when its URL names none (each protocol's own default). */
export const DEFAULT_PORTS = Object.freeze({ postgres: 5432, redis: 6379, nats: 4222 });

export const postgresAdminUrl = () =>
  env('POSTGRES_ADMIN_URL', `postgres://postgres:postgres@127.0.0.1:${DEFAULT_PORTS.postgres}/postgres`);
export const databaseName = () => env('POSTGRES_DB', 'coursegraph');

/** The URL a context's service and migrations use: its own role, in the platform database (or `database`). */
export function contextDatabaseUrl(context, database) {
  const explicit = env(`${context.toUpperCase()}_DATABASE_URL`);
  if (explicit && !database) return explicit;
  const admin = new URL(postgresAdminUrl());
  const role = `cg_${context}`;
  const password = env(`${context.toUpperCase()}_DB_PASSWORD`, `${role}_dev`);
  return `postgres://${role}:${encodeURIComponent(password)}@${admin.host}/${database ?? databaseName()}`;
}

/** REDIS_URL with the generated password (scripts/lib/credentials.mjs) unless it carries credentials of its own. */
export const redisUrl = () => withRedisPassword(env('REDIS_URL', `redis://127.0.0.1:${DEFAULT_PORTS.redis}`));
/** NATS_URL as the generated `operator` user (every right: scripts, tests), unless it carries credentials of its own. */
export const natsUrl = () => withNatsUser(env('NATS_URL', `nats://127.0.0.1:${DEFAULT_PORTS.nats}`), 'operator');
/**
 * The NATS URL a service runs with: `base` (default natsUrl()) as the service's own generated user
 * (nats-config.mjs gives each its permissions). Credentials an operator put in the URL win.
 */
export const serviceNatsUrl = (service, base = natsUrl()) => withNatsUser(base, service);
