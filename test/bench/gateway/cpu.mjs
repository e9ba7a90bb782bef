// CPU spent per operation by each process serving the load, from /proc: user + system time of the
// process and its live descendants (cluster workers, PostgreSQL's backends), plus the time of the
// descendants it has already reaped, so a backend that ended mid-run is still counted.
import fs from 'node:fs';
import { stackConfig } from '../../../scripts/lib/stack/config.mjs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function childrenByParent() {
  const children = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = readStat(Number(entry));
    if (!fields) continue;
    const ppid = Number(fields[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(entry));
  }
  return children;
}

/** The fields of /proc/<pid>/stat after the command name: [state, ppid, …]; null when gone. */
function readStat(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** CPU milliseconds of `rootPid`'s tree: utime + stime (+ cutime + cstime for reaped children). */
function treeCpuMs(rootPid, children) {
  let ticks = 0;
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop();
    const fields = readStat(pid);
    if (!fields) continue;
    // After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    stack.push(...(children.get(pid) ?? []));
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

const pidFrom = (file) => {
  try {
    return Number(fs.readFileSync(file, 'utf8').split('\n')[0]) || null;
  } catch {
    return null;
  }
};

/** The stack's PostgreSQL and Redis (from their pid files) and the run's NATS server. */
export function sharedServerPids(nats) {
  const stack = stackConfig();
  return { postgres: pidFrom(stack.postgres.pidFile), redis: pidFrom(stack.redis.pidFile), nats: nats?.pid ?? null };
}

/**
 * Starts measuring `pids` ({ name: pid }); `perOperation(requests)` gives each one's CPU
 * milliseconds per request since the start, and their total.
 */
export function cpuMeter(pids) {
  const named = Object.entries(pids).filter(([, pid]) => pid);
  const snapshot = () => {
    const children = childrenByParent();
    return Object.fromEntries(named.map(([name, pid]) => [name, treeCpuMs(pid, children)]));
  };
  const start = snapshot();
  return {
    perOperation(requests) {
      const end = snapshot();
      const out = {};
      let total = 0;
      for (const [name] of named) {
        const ms = Math.max(0, end[name] - start[name]);
        total += ms;
        out[name] = requests ? Math.round((ms / requests) * 1000) / 1000 : 0;
      }
      out.total = requests ? Math.round((total / requests) * 1000) / 1000 : 0;
      return out;
    },
  };
}

/**
 * Waits until `pids` ({ name: pid }) together use less than `cores` of a core over a `windowMs`
 * window, twice in a row: background work that would load the machine unequally across the runs
 * (a backlog, a periodic job catching up, a cold start) is over before anything is measured. Gives
 * up after `maxMs` and says so; returns what the busiest were doing at the end.
 */
export async function waitForQuiet(pids, { cores = 0.1, windowMs = 3_000, maxMs = 600_000, log = () => {} } = {}) {
  const t0 = Date.now();
  for (let quiet = 0, round = 0; quiet < 2; round++) {
    const meter = cpuMeter(pids);
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    // CPU ms over the window per request of 1 = CPU ms in the window.
    const { total, ...by } = meter.perOperation(1);
    const used = total / windowMs;
    quiet = used < cores ? quiet + 1 : 0;
    if (quiet) continue;
    const busiest = Object.entries(by)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([name, ms]) => `${name} ${(ms / windowMs).toFixed(2)}`)
      .join(', ');
    if (round % 10 === 0) log(`waiting for the platform to go quiet: ${used.toFixed(2)} cores busy (${busiest})`);
    if (Date.now() - t0 > maxMs) {
      log(`not quiet after ${maxMs / 1000} s (${used.toFixed(2)} cores: ${busiest}); measuring anyway`);
      return;
    }
  }
  log(`quiet after ${Math.round((Date.now() - t0) / 1000)} s`);
}
