#!/usr/bin/env node
// Makes PostgreSQL, Redis and NATS JetStream reachable for Coursegraph. Whatever already answers at the configured
// URLs is reused; otherwise the service is apt-installed (only if its binary is missing) and started as a plain
// process whose data, logs and pid files live under COURSEGRAPH_DATA_DIR (default <repo>/.data).
// Redis and NATS require the generated credentials (scripts/lib/credentials.mjs, .data/credentials.json):
// Redis its password, NATS one user per service (scripts/lib/nats-config.mjs). One of ours that still
// runs without them (started before they existed) is restarted with them; another that answers without
// them, or refuses them, is an error that says what to do.
// Uses only Node built-ins because it runs before `npm install` on a fresh machine.
//   node scripts/stack.mjs up | down | status [--test]
// --test: the services the tests use (scripts/lib/test-env.mjs: the same PostgreSQL and Redis, a NATS of their own).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentialsFile, withNatsUser, withRedisPassword } from './lib/credentials.mjs';
import { natsServerConfig, writeNatsConfig } from './lib/nats-config.mjs';
import { writeRedisConfig } from './lib/redis-config.mjs';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);
const SERVICES = ['postgres', 'redis', 'nats'];
const ENV_NAME = { postgres: 'POSTGRES_ADMIN_URL', redis: 'REDIS_URL', nats: 'NATS_URL' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function config() {
  const dataDir = path.resolve(process.env.COURSEGRAPH_DATA_DIR || path.join(REPO_ROOT, '.data'));
  const urls = {
    postgresAdmin: process.env.POSTGRES_ADMIN_URL || 'postgres://postgres:postgres@127.0.0.1:5432/postgres',
    redis: withRedisPassword(process.env.REDIS_URL || 'redis://127.0.0.1:6379'),
    nats: withNatsUser(process.env.NATS_URL || 'nats://127.0.0.1:4222', 'operator'),
  };
  const endpoint = (url, port) => {
    const u = new URL(url);
    return { url: u, host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(u.port) || port,
      user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
  };
  const pg = endpoint(urls.postgresAdmin, 5432);
  const logs = path.join(dataDir, 'logs');
  const pgHome = postgresHome(dataDir);
  return {
    dataDir, urls, logs,
    postgres: { ...pg, user: decodeURIComponent(pg.url.username) || 'postgres', password: decodeURIComponent(pg.url.password),
      dir: path.join(pgHome, 'postgres'), socketDir: path.join(pgHome, 'postgres-socket'),
      log: pgHome === dataDir ? path.join(logs, 'postgres.log') : path.join(pgHome, 'postgres.log') },
    redis: { ...endpoint(urls.redis, 6379), dir: path.join(dataDir, 'redis'), pidFile: path.join(dataDir, 'redis', 'redis.pid'), log: path.join(logs, 'redis.log'),
      conf: path.join(dataDir, 'redis', 'redis.conf') },
    nats: natsFiles(endpoint(urls.nats, 4222), dataDir, logs),
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

// NATS on its default port keeps its store in <data>/nats; another port (the tests' server, say) gets
// <data>/nats-<port>, since two servers must never share a JetStream store.
function natsFiles(ep, dataDir, logs) {
  const name = ep.port === 4222 ? 'nats' : `nats-${ep.port}`;
  return { ...ep, dir: path.join(dataDir, name), pidFile: path.join(dataDir, name, 'nats.pid'), log: path.join(logs, `${name}.log`),
    conf: path.join(dataDir, name, 'nats.conf') };
}

// Servers we start listen on loopback only; "localhost" gets IPv4, which Node's connect falls back to.
const bindAddr = (host) => (host === '::1' ? '::1' : '127.0.0.1');
const where = (s) => `${s.host}:${s.port}`;
const show = (p) => (path.relative(process.cwd(), p).startsWith('..') ? p : path.relative(process.cwd(), p));

// ---- protocol probes: connect, optionally send a greeting, and let `judge` decide from the bytes received ----
function probe({ host, port }, hello, judge, timeoutMs = 1500) {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    let done = false;
    const sock = net.connect({ host, port });
    const finish = (v) => { if (!done) { done = true; sock.destroy(); resolve(v); } };
    sock.setTimeout(timeoutMs, () => finish(false));
    sock.on('error', () => finish(false));
    sock.on('close', () => finish(judge(buf) ?? false));
    sock.on('connect', () => { if (hello) sock.write(hello); });
    sock.on('data', (d) => { buf = Buffer.concat([buf, d]); const v = judge(buf); if (v !== undefined) finish(v); });
  });
}
// A RESP command (binary-safe: a password may hold any character).
const resp = (...args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
/**
 * NATS greets with `INFO {json}\r\n`. Resolves with the parsed INFO object plus `auth`: 'ok' (our
 * credentials are accepted), 'open' (it requires none) or 'refused'; or false when nothing NATS answers.
 */
function natsProbe(s, timeoutMs = 1500) {
  return new Promise((resolve) => {
    let buf = '';
    let info = null;
    let done = false;
    const sock = net.connect({ host: s.host, port: s.port });
    const finish = (v) => { if (!done) { done = true; sock.destroy(); resolve(v); } };
    sock.setTimeout(timeoutMs, () => finish(info ? { ...info, auth: 'refused' } : false));
    sock.on('error', () => finish(info ? { ...info, auth: 'refused' } : false));
    sock.on('close', () => finish(info ? { ...info, auth: 'refused' } : false));
    sock.on('data', (d) => {
      buf += d;
      if (!info) {
        const end = buf.indexOf('\r\n');
        if (end < 0) return;
        const line = buf.slice(0, end);
        buf = buf.slice(end + 2);
        try { info = line.startsWith('INFO ') ? JSON.parse(line.slice(5)) : null; } catch { info = null; }
        if (!info) return finish(false);
        if (!info.auth_required) return finish({ ...info, auth: 'open' });
        if (!s.user) return finish({ ...info, auth: 'refused' });
        const auth = s.password ? { user: s.user, pass: s.password } : { auth_token: s.user };
        sock.write(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, name: 'stack-probe', lang: 'node', version: '0', protocol: 1, ...auth })}\r\nPING\r\n`);
      }
      if (buf.includes('PONG\r\n')) finish({ ...info, auth: 'ok' });
      else if (buf.includes('-ERR')) finish({ ...info, auth: 'refused' });
    });
  });
}
const probes = {
  // SSLRequest (length 8, code 80877103): every PostgreSQL answers with one byte, 'S' or 'N', and logs nothing.
  postgres: (s) => probe(s, Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]), (b) => (b.length ? b[0] === 0x53 || b[0] === 0x4e : undefined)),
  // AUTH then PING; resolves 'ok' (our password is accepted), 'open' (it requires none), 'refused', or false.
  redis: (s) => probe(s, s.password ? resp('AUTH', ...(s.user ? [s.user] : []), s.password) + resp('PING') : resp('PING'), (b) => {
    const lines = b.toString().split('\r\n');
    if (lines.length < (s.password ? 3 : 2)) return undefined; // every line complete
    if (!lines.every((l, i) => i === lines.length - 1 || /^[+-]/.test(l))) return false;
    if (!s.password) return lines[0].startsWith('+PONG') ? 'open' : 'refused';
    if (lines[0].startsWith('+OK') && lines[1].startsWith('+PONG')) return 'ok';
    // Redis 6+ and older say it differently.
    return /without any password configured|no password is set/i.test(lines[0]) ? 'open' : 'refused';
  }),
  nats: (s) => natsProbe(s),
};
/** 'ok', 'open' or 'refused' from a probe's answer (postgres: its credentials are checked elsewhere). */
const authOf = (name, answer) => (name === 'redis' ? answer : name === 'nats' ? answer.auth : 'ok');

// ---- small process helpers ----
const tail = (text, lines = 20) => text.trimEnd().split('\n').slice(-lines).join('\n');
const tailFile = (file) => { try { return tail(fs.readFileSync(file, 'utf8')); } catch { return '(no log file)'; } };
const withLogTail = (err, file) => new Error(`${err.message}\n--- tail of ${file} ---\n${tailFile(file)}`);

// Runs a command to completion capturing its output; rejects with the command line and the tail of the output.
function run(cmd, args, { env = {}, label = 'stack' } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: '/', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const collect = (d) => { out = (out + d).slice(-64 * 1024); };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (e) => reject(new Error(`${label}: could not run ${cmd}: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? resolve(out)
      : reject(new Error(`${label}: \`${[cmd, ...args].join(' ')}\` failed (exit ${code}):\n${tail(out)}`))));
  });
}
function which(bin) {
  for (const dir of [...(process.env.PATH || '').split(':'), '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    const p = path.join(dir || '.', bin);
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* keep looking */ }
  }
  return null;
}
// Alive = exists and not a zombie (a process we spawned and killed may linger as one until reaped).
function isAlive(pid) {
  try { process.kill(pid, 0); } catch (e) { if (e.code !== 'EPERM') return false; }
  try { return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
}
// The pid in a pid file, if that process is alive and really is `name` (pids get reused after reboots).
function livePid(pidFile, name) {
  let pid;
  try { pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0].trim()); } catch { return null; }
  if (!pid || !isAlive(pid)) return null;
  if (!name) return pid;
  try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(name) ? pid : null; } catch { return null; }
}
async function waitUntil(what, check, { timeoutMs = 60_000, logFile, dead } = {}) {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(200)) {
    if (await check()) return;
    const why = dead?.();
    if (why) throw withLogTail(new Error(`stack: ${what} ${why}`), logFile);
  }
  throw withLogTail(new Error(`stack: ${what} did not happen within ${timeoutMs / 1000}s`), logFile);
}

// ---- installation ----
// Highest /usr/lib/postgresql/<v>/bin that has initdb, preferring the version an existing data dir was made with.
function pgBinDir(wantVersion) {
  const root = '/usr/lib/postgresql';
  let versions = [];
  try { versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb'))); } catch { /* none */ }
  if (wantVersion && versions.includes(wantVersion)) return path.join(root, wantVersion, 'bin');
  versions.sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(root, versions[0], 'bin') : null;
}
let aptUpdated = false;
async function aptInstall(pkgs, log) {
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const lock = ['-o', 'DPkg::Lock::Timeout=600']; // other sessions may be running apt on the same machine
  if (!aptUpdated) { log('stack: apt-get update'); await run('apt-get', [...lock, 'update'], { env }); aptUpdated = true; }
  log(`stack: apt-get install -y ${pkgs.join(' ')}`);
  await run('apt-get', [...lock, 'install', '-y', '--no-install-recommends', ...pkgs], { env });
}

/** Debian's Chromium, which the browser tests drive (`npx playwright install` cannot download one here). */
export async function ensureBrowser({ log = console.error } = {}) {
  if (fs.existsSync('/usr/bin/chromium')) return;
  await aptInstall(['chromium'], log);
}

// ---- starting ----
function postgresIds() {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('stack: postgres: there is no `postgres` OS user (the Debian postgresql package creates it)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}
// PostgreSQL refuses to run as root, so its tools run as the postgres OS user.
const asPostgres = (bin, args) => run('runuser', ['-u', 'postgres', '--', bin, ...args], { label: 'stack: postgres' });

async function startPostgres(c, log) {
  const pg = c.postgres;
  const version = fs.existsSync(path.join(pg.dir, 'PG_VERSION')) ? fs.readFileSync(path.join(pg.dir, 'PG_VERSION'), 'utf8').trim() : null;
  const bin = pgBinDir(version);
  const { uid, gid } = postgresIds();
  for (const [dir, mode] of [[pg.dir, 0o700], [pg.socketDir, 0o755]]) { // initdb demands 0700 on the data dir
    fs.mkdirSync(dir, { recursive: true }); fs.chownSync(dir, uid, gid); fs.chmodSync(dir, mode);
  }
  fs.closeSync(fs.openSync(pg.log, 'a')); // pg_ctl opens the log as postgres; it may append to a file it owns
  fs.chownSync(pg.log, uid, gid);
  await asPostgres('test', ['-w', pg.dir]).catch(() => {
    throw new Error(`stack: postgres: the postgres OS user cannot write ${pg.dir}; every parent directory must be traversable (o+x)`);
  });
  if (!version) {
    log(`stack: postgres: initdb ${show(pg.dir)} (superuser ${pg.user})`);
    const utf8 = /^c\.utf-?8$/im.test(spawnSync('locale', ['-a'], { encoding: 'utf8' }).stdout || '');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-pg-'));
    const pwFile = path.join(tmp, 'pw');
    fs.writeFileSync(pwFile, `${pg.password}\n`, { mode: 0o600 });
    fs.chownSync(tmp, uid, gid);
    fs.chownSync(pwFile, uid, gid);
    try {
      await asPostgres(path.join(bin, 'initdb'), ['-D', pg.dir, '-U', pg.user, '--auth-local=trust',
        `--auth-host=${pg.password ? 'scram-sha-256' : 'trust'}`, ...(pg.password ? [`--pwfile=${pwFile}`] : []),
        '-E', 'UTF8', `--locale=${utf8 ? 'C.UTF-8' : 'C'}`]);
    } finally { fs.rmSync(tmp, { recursive: true, force: true }); }
  }
  // pg_stat_statements counts statements per role, i.e. per context: the no-N+1 test reads it.
  const opts = `-p ${pg.port} -c listen_addresses=${bindAddr(pg.host)} -k '${pg.socketDir}' -c max_connections=300 -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all`;
  await asPostgres(path.join(bin, 'pg_ctl'), ['-D', pg.dir, '-l', pg.log, '-w', '-t', '120', '-o', opts, 'start'])
    .catch((e) => { throw withLogTail(e, pg.log); });
  await waitUntil(`postgres reachable at ${where(pg)}`, () => probes.postgres(pg), { logFile: pg.log });
}

// Starts a server in its own process group with no stdio so it outlives this script; `exited()` tells if it died.
function spawnDetached(bin, args, cwd) {
  let why = null;
  const child = spawn(which(bin) || bin, args, { cwd, detached: true, stdio: 'ignore' });
  child.on('error', (e) => { why = `could not be spawned: ${e.message}`; });
  child.on('exit', (code, sig) => { why = `exited (${sig || `code ${code}`})`; });
  child.unref();
  return { exited: () => why };
}

// A server still running from this data dir but not answering at the URL (e.g. the port was changed): starting a
// second one on the same files would clobber its pid file and, for NATS, share its JetStream store.
function refuseIfRunning(name, s, bin) {
  const pid = livePid(s.pidFile, bin);
  if (pid) throw new Error(`stack: ${name} is already running from ${s.dir} (pid ${pid}) but does not answer at ${where(s)}; run \`node scripts/stack.mjs down\` or fix ${ENV_NAME[name]}`);
}

async function startRedis(c) {
  const r = c.redis;
  refuseIfRunning('redis', r, 'redis-server');
  fs.mkdirSync(r.dir, { recursive: true });
  // Not --daemonize yes: a daemonized redis that fails to bind exits before writing its pid file, leaving nothing to
  // watch. Spawned detached in the foreground, its exit is seen at once and it still outlives this script.
  // The password is in the config file (mode 0600), never on the command line where `ps` shows it.
  writeRedisConfig(r.conf, { port: r.port, bind: bindAddr(r.host), dir: r.dir, pidFile: r.pidFile, logFile: r.log });
  const child = spawnDetached('redis-server', [r.conf], c.dataDir);
  await waitUntil(`redis accepting its password at ${where(r)}`, async () => (await probes.redis(r)) === 'ok', { logFile: r.log, dead: child.exited });
}

async function startNats(c) {
  const n = c.nats;
  refuseIfRunning('nats', n, 'nats-server');
  fs.mkdirSync(n.dir, { recursive: true });
  // JetStream, and one user per service with its permissions (scripts/lib/nats-config.mjs).
  writeNatsConfig(n.conf, { host: bindAddr(n.host), port: n.port, storeDir: n.dir, pidFile: n.pidFile, logFile: n.log });
  const child = spawnDetached('nats-server', ['-c', n.conf], c.dataDir);
  await waitUntil(`nats answering with JetStream and accepting ${n.user} at ${where(n)}`, async () => {
    const info = await probes.nats(n);
    return info?.jetstream === true && info.auth === 'ok';
  }, { logFile: n.log, dead: child.exited });
}
const starters = { postgres: startPostgres, redis: startRedis, nats: startNats };

// Probes every service (throwing if NATS answers without JetStream): `missing` names those that do not answer,
// `unauthenticated` those that answer but require no credentials ('open') or refuse ours ('refused').
async function survey(c) {
  const answers = await Promise.all(SERVICES.map((n) => probes[n](c[n])));
  const info = answers[SERVICES.indexOf('nats')];
  if (info && info.jetstream !== true) {
    throw new Error(`stack: nats at ${where(c.nats)} answers but without JetStream (its INFO lacks "jetstream":true); `
      + 'restart it with -js or point NATS_URL at a JetStream-enabled server');
  }
  return {
    missing: SERVICES.filter((n, i) => !answers[i]),
    unauthenticated: SERVICES.map((name, i) => ({ name, auth: answers[i] && authOf(name, answers[i]) })).filter(({ auth }) => auth && auth !== 'ok'),
  };
}
const unreachable = async (c) => (await survey(c)).missing;
const BINARY = { redis: 'redis-server', nats: 'nats-server' };

// A Redis or NATS that answers without requiring credentials, or refuses ours. One started from this data dir
// (its pid file says so: started before the credentials existed, or with others) is restarted with them; any
// other is the operator's, and what to do is theirs to choose.
function restartsFor(c, unauthenticated, log) {
  const problems = [];
  const restart = [];
  for (const { name, auth } of unauthenticated) {
    const s = c[name];
    const pid = livePid(s.pidFile, BINARY[name]);
    if (pid) {
      log(`stack: ${name} at ${where(s)} (pid ${pid}, started from ${show(s.dir)}) ${auth === 'open' ? 'requires no credentials' : 'refuses the generated credentials'}; restarting it with those of ${show(credentialsFile())}`);
      restart.push(name);
    } else if (auth === 'open') {
      problems.push(`stack: ${name} at ${where(s)} answers without asking for credentials, and Coursegraph's services authenticate `
        + `(${name === 'redis' ? 'a password' : 'one NATS user per service'}). It was not started from ${show(s.dir)}, so it is left alone: `
        + (name === 'redis'
          ? 'stop it (e.g. `systemctl stop redis-server`) and run this again to start one with the generated password, or give it a password (requirepass) and set REDIS_URL=redis://:<password>@host:port.'
          : 'stop it and run this again to start one with the generated users (scripts/lib/nats-config.mjs), or set NATS_URL to a server of yours with credentials (nats://user:password@host:port).'));
    } else {
      problems.push(`stack: ${name} at ${where(s)} refuses the credentials ${s.url.username || s.url.password ? `in ${ENV_NAME[name]} or ` : ''}${show(credentialsFile())} gives; `
        + `set ${ENV_NAME[name]} with the right ones, or stop that server and run this again to start one with the generated ones.`);
    }
  }
  if (problems.length) throw new Error(problems.join('\n'));
  return restart;
}

// Exclusive lock file holding our pid, so that two processes (say, parallel test workers) never start the same
// services twice; a lock left by a dead process is taken over.
async function lock(file, log) {
  for (let waited = 0; ; waited += 200) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      if (!livePid(file)) { fs.rmSync(file, { force: true }); continue; }
      if (waited === 0) log(`stack: waiting for another stack process (${file})`);
      await sleep(200);
    }
  }
}

// ---- public API ----
export async function ensureStack({ log = console.error } = {}) {
  const c = config();
  const first = await survey(c);
  if (first.missing.length || first.unauthenticated.length) {
    fs.mkdirSync(c.logs, { recursive: true });
    fs.chmodSync(c.dataDir, 0o755); // the postgres OS user must be able to traverse it
    const release = await lock(path.join(c.dataDir, 'stack.lock'), log);
    try {
      const { missing, unauthenticated } = await survey(c); // another process may have started them while we waited
      const restart = restartsFor(c, unauthenticated, log);
      if (restart.length) await stopServices(restart, { log });
      const up = await bringUp(c, [...missing, ...restart], log);
      reloadNatsConfig(c, log); // a NATS left running may have an older configuration
      return up;
    } finally { release(); }
  }
  for (const n of SERVICES) log(`stack: ${n} reachable at ${where(c[n])}, reusing it`);
  reloadNatsConfig(c, log);
  return { started: [], urls: c.urls };
}

// A NATS of ours started with other users or permissions than nats-config.mjs gives now (a newer checkout) gets
// the new configuration written and reloaded (SIGHUP: nats-server applies authorization changes in place).
function reloadNatsConfig(c, log) {
  const n = c.nats;
  const pid = livePid(n.pidFile, 'nats-server');
  if (!pid) return;
  const wanted = `${natsServerConfig({ host: bindAddr(n.host), port: n.port, storeDir: n.dir, pidFile: n.pidFile, logFile: n.log })}\n`;
  let current = null;
  try { current = fs.readFileSync(n.conf, 'utf8'); } catch { /* started before config files: the probe restarted it */ }
  if (current === null || current === wanted) return;
  log(`stack: nats at ${where(n)}: users or permissions changed; reloading ${show(n.conf)}`);
  writeNatsConfig(n.conf, { host: bindAddr(n.host), port: n.port, storeDir: n.dir, pidFile: n.pidFile, logFile: n.log });
  process.kill(pid, 'SIGHUP');
}

async function bringUp(c, missing, log) {
  for (const n of SERVICES) if (!missing.includes(n)) log(`stack: ${n} reachable at ${where(c[n])}, reusing it`);
  for (const n of missing) {
    if (!LOCAL_HOSTS.has(c[n].host)) {
      throw new Error(`stack: ${n} is not reachable at ${where(c[n])}, and only local hosts can be started here (check ${ENV_NAME[n]})`);
    }
  }
  const pkgs = [];
  if (missing.includes('postgres') && !pgBinDir()) pkgs.push('postgresql');
  if (missing.includes('redis') && !which('redis-server')) pkgs.push('redis-server');
  if (missing.includes('nats') && !which('nats-server')) pkgs.push('nats-server');
  if (pkgs.length) await aptInstall(pkgs, log);
  // Debian packages may start their service on install (here policy-rc.d forbids it, elsewhere it may not).
  if (pkgs.length) missing = await unreachable(c);

  const started = [];
  const results = await Promise.allSettled(missing.map(async (n) => {
    log(`stack: ${n} not reachable at ${where(c[n])}, starting it from ${show(c[n].dir)}`);
    const t0 = Date.now();
    await starters[n](c, log);
    started.push(n);
    log(`stack: ${n} up in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  }));
  const errors = results.filter((r) => r.status === 'rejected').map((r) => r.reason?.message ?? String(r.reason));
  if (errors.length) throw new Error(errors.join('\n\n'));
  return { started: SERVICES.filter((n) => started.includes(n)), urls: c.urls };
}

// Stops the named services, but only instances running from this data dir (found through their pid files).
export async function stopServices(names = SERVICES, { log = console.error } = {}) {
  const c = config();
  const stopped = [];
  for (const name of names) {
    const s = c[name];
    const pid = name === 'postgres' ? livePid(path.join(s.dir, 'postmaster.pid'), 'postgres')
      : livePid(s.pidFile, name === 'redis' ? 'redis-server' : 'nats-server');
    if (!pid) { log(`stack: ${name} is not running from ${s.dir}`); continue; }
    log(`stack: stopping ${name} (pid ${pid})`);
    if (name === 'postgres') {
      const version = fs.readFileSync(path.join(s.dir, 'PG_VERSION'), 'utf8').trim();
      await asPostgres(path.join(pgBinDir(version), 'pg_ctl'), ['-D', s.dir, '-m', 'fast', '-w', 'stop']);
    } else {
      process.kill(pid, 'SIGTERM'); // redis (with --save "") and nats both shut down cleanly on SIGTERM
    }
    await waitUntil(`${name} (pid ${pid}) exiting`, () => !isAlive(pid), { timeoutMs: 30_000, logFile: s.log });
    if (name !== 'postgres') fs.rmSync(s.pidFile, { force: true });
    stopped.push(name);
  }
  return stopped;
}

export async function status() {
  const c = config();
  const [postgres, redis, nats] = await Promise.all([probes.postgres(c.postgres), probes.redis(c.redis), probes.nats(c.nats)]);
  // Redis and NATS count as up when they accept the credentials (and NATS has JetStream).
  return { postgres: Boolean(postgres), redis: redis === 'ok', nats: nats?.jetstream === true && nats.auth === 'ok' };
}

// ---- CLI (only when executed directly, so other scripts can import this module) ----
const isMain = process.argv[1] && fs.realpathSync(path.resolve(process.argv[1])) === fileURLToPath(import.meta.url);
if (isMain) {
  const cmd = process.argv.slice(2).find((a) => !a.startsWith('--')) || 'up';
  if (process.argv.includes('--test')) Object.assign(process.env, (await import('./lib/test-env.mjs')).testEnv());
  try {
    if (cmd === 'up') {
      const t0 = Date.now();
      const { started, urls } = await ensureStack();
      console.error(`stack: ready in ${((Date.now() - t0) / 1000).toFixed(1)}s${started.length ? ` (started ${started.join(', ')})` : ''}`);
      console.log(`POSTGRES_ADMIN_URL=${urls.postgresAdmin}\nREDIS_URL=${urls.redis}\nNATS_URL=${urls.nats}`);
    } else if (cmd === 'down') {
      await stopServices(SERVICES, { log: console.error });
      // Without --test, the tests' own NATS goes too: `down` stops everything this data dir started.
      const testNats = (await import('./lib/test-env.mjs')).testEnv().NATS_URL;
      if (process.env.NATS_URL !== testNats) {
        process.env.NATS_URL = testNats;
        await stopServices(['nats'], { log: console.error });
      }
    } else if (cmd === 'status') {
      console.log(JSON.stringify(await status()));
    } else {
      console.error('usage: node scripts/stack.mjs up|down|status [--test]');
      process.exitCode = 2;
    }
  } catch (e) {
    console.error(e.message);
    process.exitCode = 1;
  }
}
