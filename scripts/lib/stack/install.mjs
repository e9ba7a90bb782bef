// Installing what the stack runs from Debian's packages, only when its binary is missing.
import fs from 'node:fs';
import path from 'node:path';
import { run, which } from './processes.mjs';

/** Highest /usr/lib/postgresql/<v>/bin that has initdb, preferring `wantVersion` (an existing data dir's). */
export function pgBinDir(wantVersion) {
  const root = '/usr/lib/postgresql';
  let versions = [];
  try {
    versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')));
  } catch {
    /* none installed */
  }
  if (wantVersion && versions.includes(wantVersion)) return path.join(root, wantVersion, 'bin');
  versions.sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(root, versions[0], 'bin') : null;
}

let aptUpdated = false;
/** `apt-get install` of `pkgs`, after one `apt-get update` per process. */
export async function aptInstall(pkgs, log) {
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const lock = ['-o', 'DPkg::Lock::Timeout=600']; // other sessions may be running apt on the same machine
  if (!aptUpdated) {
    log('stack: apt-get update');
    await run('apt-get', [...lock, 'update'], { env });
    aptUpdated = true;
  }
  log(`stack: apt-get install -y ${pkgs.join(' ')}`);
  await run('apt-get', [...lock, 'install', '-y', '--no-install-recommends', ...pkgs], { env });
}

/** The Debian packages the servers in `missing` need and that are not installed. */
export function packagesFor(missing) {
  const pkgs = [];
  if (missing.includes('postgres') && !pgBinDir()) pkgs.push('postgresql');
  if (missing.includes('redis') && !which('redis-server')) pkgs.push('redis-server');
  if (missing.includes('nats') && !which('nats-server')) pkgs.push('nats-server');
  return pkgs;
}

/** Debian's Chromium, which the browser tests drive (`npx playwright install` cannot download one here). */
export async function ensureBrowser({ log = console.error } = {}) {
  if (fs.existsSync('/usr/bin/chromium')) return;
  await aptInstall(['chromium'], log);
}

/** Debian's FFmpeg (ffmpeg and ffprobe), which the video subgraph runs and its tests make media with. */
export async function ensureFfmpeg({ log = console.error } = {}) {
  if (which('ffmpeg') && which('ffprobe')) return;
  await aptInstall(['ffmpeg'], log);
}

/** Debian's Prometheus, which `npm start` can run (START_PROMETHEUS=1) and whose `promtool` tests the alerting rules. */
export async function ensurePrometheus({ log = console.error } = {}) {
  if (which('prometheus') && which('promtool')) return;
  await aptInstall(['prometheus'], log);
}
