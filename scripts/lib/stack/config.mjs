// Where each server of the local stack is reached and where its files live. Every URL, port and the
// data dir come from the scripts' shared configuration (scripts/lib/env.mjs, with the generated
// credentials of scripts/lib/credentials.mjs); nothing here has a default of its own.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_PORTS, dataDir as configuredDataDir, natsUrl, postgresAdminUrl, redisUrl } from '../env.mjs';

/** The servers the stack provides, in the order they are reported. */
export const SERVICES = ['postgres', 'redis', 'nats'];
/** The variable that says where each server is: messages name it as what to fix. */
export const ENV_NAME = { postgres: 'POSTGRES_ADMIN_URL', redis: 'REDIS_URL', nats: 'NATS_URL' };
/** The binary each server runs as: a pid file only counts when its process is that binary (pids get reused). */
export const BINARY = { postgres: 'postgres', redis: 'redis-server', nats: 'nats-server' };

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);
/** Only a server on this machine can be started here. */
export const isLocal = (s) => LOCAL_HOSTS.has(s.host);
/** Servers we start listen on loopback only; "localhost" gets IPv4, which Node's connect falls back to. */
export const bindAddr = (host) => (host === '::1' ? '::1' : '127.0.0.1');
/** `host:port`, for messages. */
export const where = (s) => `${s.host}:${s.port}`;
/** A path as messages show it: relative to the working directory when inside it. */
export const show = (p) => (path.relative(process.cwd(), p).startsWith('..') ? p : path.relative(process.cwd(), p));

function endpoint(url, port) {
  const u = new URL(url);
  return {
    url: u,
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: Number(u.port) || port,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
  };
}

// PostgreSQL runs as the postgres OS user, which must be able to pass through every directory above
// its files. A clone inside a private directory (mktemp -d, a home of mode 0700) cannot offer that,
// so its PostgreSQL files live in /var/lib/coursegraph/<hash of the data dir> instead, one per clone.
function postgresHome(dataDir) {
  for (let dir = path.dirname(dataDir); ; dir = path.dirname(dir)) {
    const mode = fs.statSync(dir, { throwIfNoEntry: false })?.mode;
    if (mode !== undefined && (mode & 0o001) === 0) {
      return path.join('/var/lib/coursegraph', createHash('sha256').update(dataDir).digest('hex').slice(0, 12));
    }
    if (dir === path.dirname(dir)) return dataDir;
  }
}

/**
 * The stack as the environment describes it now (read on every call: the CLI's `down` switches
 * NATS_URL to stop the tests' server too). Per server: `url`, `host`, `port`, `user`, `password`,
 * its directory `dir`, `pidFile`, `log`, and for Redis and NATS the `conf` it is started with.
 */
export function stackConfig() {
  const dataDir = configuredDataDir();
  const urls = { postgresAdmin: postgresAdminUrl(), redis: redisUrl(), nats: natsUrl() };
  const logs = path.join(dataDir, 'logs');

  const pg = endpoint(urls.postgresAdmin, DEFAULT_PORTS.postgres);
  const pgHome = postgresHome(dataDir);
  const pgDir = path.join(pgHome, 'postgres');
  const postgres = {
    ...pg,
    user: pg.user || 'postgres', // the superuser initdb creates when the URL names none
    dir: pgDir,
    pidFile: path.join(pgDir, 'postmaster.pid'), // PostgreSQL's own
    socketDir: path.join(pgHome, 'postgres-socket'),
    log: pgHome === dataDir ? path.join(logs, 'postgres.log') : path.join(pgHome, 'postgres.log'),
  };

  const redisDir = path.join(dataDir, 'redis');
  const redis = {
    ...endpoint(urls.redis, DEFAULT_PORTS.redis),
    dir: redisDir,
    pidFile: path.join(redisDir, 'redis.pid'),
    log: path.join(logs, 'redis.log'),
    conf: path.join(redisDir, 'redis.conf'),
  };

  // NATS on its default port keeps its store in <data>/nats; another port (the tests' server, say) gets
  // <data>/nats-<port>, since two servers must never share a JetStream store.
  const n = endpoint(urls.nats, DEFAULT_PORTS.nats);
  const natsName = n.port === DEFAULT_PORTS.nats ? 'nats' : `nats-${n.port}`;
  const nats = {
    ...n,
    dir: path.join(dataDir, natsName),
    pidFile: path.join(dataDir, natsName, 'nats.pid'),
    log: path.join(logs, `${natsName}.log`),
    conf: path.join(dataDir, natsName, 'nats.conf'),
  };

  return { dataDir, urls, logs, postgres, redis, nats };
}
