// The restart policy of the platform's processes (scripts/lib/platform.mjs): a process that exits
// when nobody asked it to is started again after a delay that doubles with each quick failure
// (250 ms, 500 ms, … up to 30 s) and falls back to the first delay once the process has stayed up
// for a while. Each restart is one JSON line in the supervisor's log file.
import fs from 'node:fs';

/** The settings of the restart policy: environment variable, default, and what it does. */
export const SUPERVISOR_SETTINGS = [
  {
    name: 'SUPERVISOR_RESTART_BASE_MS',
    default: 250,
    doc: 'delay before the first restart of a process that exited unexpectedly; doubled for each further quick exit',
  },
  {
    name: 'SUPERVISOR_RESTART_MAX_MS',
    default: 30_000,
    doc: 'longest delay between two restarts of a process that keeps exiting',
  },
  {
    name: 'SUPERVISOR_STABLE_MS',
    default: 30_000,
    doc: 'how long a restarted process must stay up before its next exit counts as a first one again',
  },
];

/** The policy from `source` (the environment by default); throws listing every invalid value at once. */
export function restartPolicyFromEnv(source = process.env) {
  const problems = [];
  const values = SUPERVISOR_SETTINGS.map((s) => {
    const raw = source[s.name] && source[s.name] !== '' ? source[s.name] : String(s.default);
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1)
      problems.push(`${s.name} must be a positive whole number of milliseconds (got ${JSON.stringify(raw)})`);
    return value;
  });
  if (problems.length) throw new Error(`invalid supervisor settings:\n  ${problems.join('\n  ')}`);
  const [baseMs, maxMs, stableMs] = values;
  return { baseMs, maxMs: Math.max(baseMs, maxMs), stableMs };
}

/** The delay before restart number `attempt` (1 = first) of a run of quick exits. */
export const backoffDelay = (attempt, { baseMs, maxMs }) => Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));

/**
 * Watches processes by name and restarts those that exit unexpectedly. `start(name)` launches a new
 * process for `name` and resolves with its ChildProcess once it is ready (it rejects, with the new
 * process already ended, when it is not). `hold(name)` tells the supervisor an exit of `name` is
 * wanted (a stop, a test's kill) until `watch` is called for it again.
 */
export function createSupervisor({ start, policy = restartPolicyFromEnv(), logFile, log = () => {} }) {
  const services = new Map();
  let closed = false;
  /** Restarts under way, which `close()` waits for so no process outlives the platform. */
  const starts = new Set();
  const state = (name) => {
    if (!services.has(name))
      services.set(name, {
        child: null,
        upSince: 0,
        attempt: 0,
        restarts: 0,
        timer: null,
        starting: false,
        held: false,
      });
    return services.get(name);
  };

  const record = (entry) => {
    const line = JSON.stringify({ time: new Date().toISOString(), ...entry });
    if (logFile) fs.appendFileSync(logFile, `${line}\n`);
    log(
      `supervisor: ${entry.message} ${entry.service}${entry.delayMs !== undefined ? ` in ${entry.delayMs} ms (attempt ${entry.attempt})` : ''}${entry.error ? `: ${entry.error}` : ''}`,
    );
  };

  const schedule = (name, cause) => {
    const s = state(name);
    // A process that stayed up long enough starts a new run of attempts at the shortest delay.
    if (Date.now() - s.upSince >= policy.stableMs) s.attempt = 0;
    s.attempt++;
    const delayMs = backoffDelay(s.attempt, policy);
    record({ message: 'restarting', service: name, ...cause, attempt: s.attempt, delayMs });
    s.timer = setTimeout(async () => {
      s.timer = null;
      if (s.held || closed) return;
      s.restarts++;
      s.starting = true;
      let done;
      starts.add((s.startPromise = new Promise((resolve) => (done = resolve))));
      try {
        const child = await start(name);
        s.starting = false;
        // Held while it was starting (a stop, a test's kill): the new process is not wanted either.
        if (s.held || closed) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          return void (await exited);
        }
        watch(name, child);
        record({ message: 'restarted', service: name, attempt: s.attempt, pid: child.pid });
      } catch (err) {
        s.starting = false;
        if (s.held || closed) return;
        // Started but never ready (or exited on start): try again, later.
        s.upSince = Date.now();
        schedule(name, { error: err.message.split('\n')[0] });
      } finally {
        starts.delete(s.startPromise);
        done();
      }
    }, delayMs);
  };

  /** Supervises `child` as the process of `name` from now on (after a start or a wanted restart). */
  function watch(name, child) {
    const s = state(name);
    s.child = child;
    s.held = false;
    s.upSince = Date.now();
    child.once('exit', (code, signal) => {
      // Only the current process of a service that nobody stopped is restarted.
      if (closed || s.held || s.child !== child || s.timer || s.starting) return;
      schedule(name, { code, signal, uptimeMs: Date.now() - s.upSince, pid: child.pid });
    });
  }

  return {
    watch,
    /** Exits of `name` are wanted until the next `watch(name, …)`; a pending restart is cancelled. */
    hold(name) {
      const s = state(name);
      s.held = true;
      if (s.timer) clearTimeout(s.timer);
      s.timer = null;
    },
    /** True while a restart of `name` is waiting for its delay or starting. */
    pending: (name) => state(name).timer !== null || state(name).starting,
    /** Restarts made by the supervisor so far, per service (wanted restarts not counted). */
    restarts: () => Object.fromEntries([...services].map(([name, s]) => [name, s.restarts])),
    /** Nothing is restarted any more (the platform is stopping); resolves when no restart is under way. */
    async close() {
      closed = true;
      for (const s of services.values()) if (s.timer) clearTimeout(s.timer);
      await Promise.all([...starts]);
    },
  };
}
