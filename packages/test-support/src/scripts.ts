/**
 * The repository's scripts (plain .mjs under scripts/ and test/bench/) that tests use, re-exported
 * so no test reaches them by a relative path up the tree. They are loaded from the repository root found
 * here once, by absolute URL: the scripts are no package of their own to import by name.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The repository root: packages/test-support/src is three levels below it. */
const REPO = path.resolve(import.meta.dirname, '..', '..', '..');

// The .mjs modules carry no type declarations; tests use them as they did by relative path.
const load = (file: string): Promise<any> => import(pathToFileURL(path.join(REPO, file)).href);

const [env, prisma, credentials, natsConfig, redisConfig, platform, supervisor, stack, testEnvironment, workloads] =
  await Promise.all([
    load('scripts/lib/env.mjs'),
    load('scripts/prisma.mjs'),
    load('scripts/lib/credentials.mjs'),
    load('scripts/lib/nats-config.mjs'),
    load('scripts/lib/redis-config.mjs'),
    load('scripts/lib/platform.mjs'),
    load('scripts/lib/supervisor.mjs'),
    load('scripts/lib/stack/index.mjs'),
    load('scripts/lib/test-env.mjs'),
    load('test/bench/gateway/workloads.mjs'),
  ]);

// scripts/lib/env.mjs: where things are and how to reach them.
export const ROOT: string = env.ROOT;
export const contextDatabaseUrl: (context: string, database?: string) => string = env.contextDatabaseUrl;
export const postgresAdminUrl: () => string = env.postgresAdminUrl;
export const databaseName: () => string = env.databaseName;
export const redisUrl: () => string = env.redisUrl;

// scripts/prisma.mjs: migrations.
export const checkMigrations: () => any = prisma.checkMigrations;
export const freshMigratedDatabase: (database: string, options?: { template?: string }) => Promise<any> =
  prisma.freshMigratedDatabase;

// scripts/lib/credentials.mjs, nats-config.mjs, redis-config.mjs: private servers' credentials and configs.
export const withNatsUser: (url: string, user: string) => string = credentials.withNatsUser;
export const withRedisPassword: (url: string) => string = credentials.withRedisPassword;
export const redisPassword: () => string = credentials.redisPassword;
export const writeNatsConfig: (file: string, options: Record<string, unknown>) => string = natsConfig.writeNatsConfig;
export const writeRedisConfig: (file: string, options: Record<string, unknown>) => string =
  redisConfig.writeRedisConfig;

// scripts/lib/platform.mjs, supervisor.mjs, stack/, test-env.mjs: running the platform and its services.
export const startPlatform: (options: Record<string, unknown>) => Promise<any> = platform.startPlatform;
export const subgraphList: () => any[] = platform.subgraphList;
export const backoffDelay: (attempt: number, policy: { baseMs: number; maxMs: number }) => number =
  supervisor.backoffDelay;
export const createSupervisor: (options: Record<string, unknown>) => any = supervisor.createSupervisor;
export const ensureStack: (options?: { log?: (line: string) => void }) => Promise<void> = stack.ensureStack;
export const testEnv: (source?: NodeJS.ProcessEnv) => Record<string, string> = testEnvironment.testEnv;

// test/bench/gateway/workloads.mjs: the benchmark's operations, which tests check stay within limits.
export const CATALOG_QUERY: string = workloads.CATALOG_QUERY;
export const DEEP_QUERY: string = workloads.DEEP_QUERY;
export const MUTATION: string = workloads.MUTATION;
