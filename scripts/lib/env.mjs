// Configuration shared by the project's scripts (start, test, prisma, seed), read from the
// environment with working defaults. Services read their own settings; the start script hands
// them these values explicitly, so both agree.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Every bounded context gets its own PostgreSQL role and schema, whether or not it has tables yet. */
export const CONTEXTS = ['identity', 'course', 'enrollment', 'payment', 'notification', 'learning', 'ai'];

export const env = (name, fallback) => (process.env[name] && process.env[name] !== '' ? process.env[name] : fallback);

export const postgresAdminUrl = () => env('POSTGRES_ADMIN_URL', 'postgres://postgres:postgres@127.0.0.1:5432/postgres');
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

export const redisUrl = () => env('REDIS_URL', 'redis://127.0.0.1:6379');
export const natsUrl = () => env('NATS_URL', 'nats://127.0.0.1:4222');
