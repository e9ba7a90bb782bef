// Small process helpers the stack's modules share: running a command to completion, finding a binary,
// starting a server that outlives this script, telling whether a pid (file) names a live server, and
// waiting for a condition with the server's log in the error. Node built-ins only.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const tail = (text, lines = 20) => text.trimEnd().split('\n').slice(-lines).join('\n');
const tailFile = (file) => {
  try {
    return tail(fs.readFileSync(file, 'utf8'));
  } catch {
    return '(no log file)';
  }
};
/** `err` with the last lines of `file` (a server's log) appended: why it failed is usually there. */
export const withLogTail = (err, file) => new Error(`${err.message}\n--- tail of ${file} ---\n${tailFile(file)}`);

/** Runs a command to completion capturing its output; rejects with the command line and the tail of the output. */
export function run(cmd, args, { env = {}, label = 'stack' } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: '/', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const collect = (d) => {
      out = (out + d).slice(-64 * 1024);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (e) => reject(new Error(`${label}: could not run ${cmd}: ${e.message}`)));
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${label}: \`${[cmd, ...args].join(' ')}\` failed (exit ${code}):\n${tail(out)}`)),
    );
  });
}

/** The path of an executable `bin` on PATH or in the system's sbin/bin directories, or null. */
export function which(bin) {
  for (const dir of [...(process.env.PATH || '').split(':'), '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    const p = path.join(dir || '.', bin);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* keep looking */
    }
  }
  return null;
}

/** Alive = exists and not a zombie (a process we spawned and killed may linger as one until reaped). */
export function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (e.code !== 'EPERM') return false;
  }
  try {
    return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The pid in a pid file, if that process is alive and (when `name` is given) really is `name`: pids get reused. */
export function livePid(pidFile, name) {
  let pid;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0].trim());
  } catch {
    return null;
  }
  if (!pid || !isAlive(pid)) return null;
  if (!name) return pid;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(name) ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Polls `check` every 200 ms until it holds; throws after `timeoutMs` (default 60 s), or as soon as
 * `dead()` says why the server died. Either error carries the tail of `logFile`.
 */
export async function waitUntil(what, check, { timeoutMs = 60_000, logFile, dead } = {}) {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(200)) {
    if (await check()) return;
    const why = dead?.();
    if (why) throw withLogTail(new Error(`stack: ${what} ${why}`), logFile);
  }
  throw withLogTail(new Error(`stack: ${what} did not happen within ${timeoutMs / 1000}s`), logFile);
}

/** Starts a server in its own process group with no stdio so it outlives this script; `exited()` tells if it died. */
export function spawnDetached(bin, args, cwd) {
  let why = null;
  const child = spawn(which(bin) || bin, args, { cwd, detached: true, stdio: 'ignore' });
  child.on('error', (e) => {
    why = `could not be spawned: ${e.message}`;
  });
  child.on('exit', (code, sig) => {
    why = `exited (${sig || `code ${code}`})`;
  });
  child.unref();
  return { exited: () => why };
}
