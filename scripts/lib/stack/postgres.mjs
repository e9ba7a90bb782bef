// Starting and stopping a PostgreSQL of our own: initdb on first use, then pg_ctl, as the postgres OS
// user (PostgreSQL refuses to run as root).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bindAddr, show, where } from './config.mjs';
import { pgBinDir } from './install.mjs';
import { probes } from './probes.mjs';
import { run, waitUntil, withLogTail } from './processes.mjs';

function postgresIds() {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) {
    throw new Error('stack: postgres: there is no `postgres` OS user (the Debian postgresql package creates it)');
  }
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

const asPostgres = (bin, args) => run('runuser', ['-u', 'postgres', '--', bin, ...args], { label: 'stack: postgres' });

/** The PostgreSQL version a data dir was made with, or null before initdb. */
const dataVersion = (dir) => {
  const file = path.join(dir, 'PG_VERSION');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : null;
};

async function initdb(pg, bin, { uid, gid }, log) {
  log(`stack: postgres: initdb ${show(pg.dir)} (superuser ${pg.user})`);
  const utf8 = /^c\.utf-?8$/im.test(spawnSync('locale', ['-a'], { encoding: 'utf8' }).stdout || '');
  // The superuser's password goes through a file the postgres user can read, never the command line.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-pg-'));
  const pwFile = path.join(tmp, 'pw');
  fs.writeFileSync(pwFile, `${pg.password}\n`, { mode: 0o600 });
  fs.chownSync(tmp, uid, gid);
  fs.chownSync(pwFile, uid, gid);
  try {
    await asPostgres(path.join(bin, 'initdb'), [
      '-D',
      pg.dir,
      '-U',
      pg.user,
      '--auth-local=trust',
      `--auth-host=${pg.password ? 'scram-sha-256' : 'trust'}`,
      ...(pg.password ? [`--pwfile=${pwFile}`] : []),
      '-E',
      'UTF8',
      `--locale=${utf8 ? 'C.UTF-8' : 'C'}`,
    ]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Starts PostgreSQL from `c.postgres.dir` (initdb first if it is empty) and waits until it answers. */
export async function startPostgres(c, log) {
  const pg = c.postgres;
  const version = dataVersion(pg.dir);
  const bin = pgBinDir(version);
  const ids = postgresIds();
  for (const [dir, mode] of [
    [pg.dir, 0o700],
    [pg.socketDir, 0o755],
  ]) {
    // initdb demands 0700 on the data dir
    fs.mkdirSync(dir, { recursive: true });
    fs.chownSync(dir, ids.uid, ids.gid);
    fs.chmodSync(dir, mode);
  }
  fs.closeSync(fs.openSync(pg.log, 'a')); // pg_ctl opens the log as postgres; it may append to a file it owns
  fs.chownSync(pg.log, ids.uid, ids.gid);
  await asPostgres('test', ['-w', pg.dir]).catch(() => {
    throw new Error(
      `stack: postgres: the postgres OS user cannot write ${pg.dir}; ` +
        'every parent directory must be traversable (o+x)',
    );
  });
  if (!version) await initdb(pg, bin, ids, log);
  // pg_stat_statements counts statements per role, i.e. per context: the no-N+1 test reads it.
  const opts =
    `-p ${pg.port} -c listen_addresses=${bindAddr(pg.host)} -k '${pg.socketDir}' -c max_connections=300 ` +
    '-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all';
  await asPostgres(path.join(bin, 'pg_ctl'), [
    '-D',
    pg.dir,
    '-l',
    pg.log,
    '-w',
    '-t',
    '120',
    '-o',
    opts,
    'start',
  ]).catch((e) => {
    throw withLogTail(e, pg.log);
  });
  await waitUntil(`postgres reachable at ${where(pg)}`, () => probes.postgres(pg), { logFile: pg.log });
}

/** Asks the PostgreSQL running from `pg.dir` to stop (fast: open sessions are ended) and waits for pg_ctl. */
export async function stopPostgres(pg) {
  await asPostgres(path.join(pgBinDir(dataVersion(pg.dir)), 'pg_ctl'), ['-D', pg.dir, '-m', 'fast', '-w', 'stop']);
}
