// Which servers run from this data dir, found through their pid files (and checked to be the right
// binary), never by name: another clone's servers and the operator's own are never touched.
import { BINARY, ENV_NAME, where } from './config.mjs';
import { livePid } from './processes.mjs';

/** The pid of `name` running from this data dir (`s` is its entry in stackConfig()), or null. */
export const runningPid = (name, s) => livePid(s.pidFile, BINARY[name]);

/**
 * Throws when `name` still runs from this data dir but does not answer at its URL (e.g. the port was
 * changed): starting a second one on the same files would clobber its pid file and, for NATS, share
 * its JetStream store.
 */
export function refuseIfRunning(name, s) {
  const pid = runningPid(name, s);
  if (pid) {
    throw new Error(
      `stack: ${name} is already running from ${s.dir} (pid ${pid}) but does not answer at ${where(s)}; ` +
        `run \`node scripts/stack.mjs down\` or fix ${ENV_NAME[name]}`,
    );
  }
}
