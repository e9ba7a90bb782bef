// What to do about a Redis or NATS that answers without requiring credentials, or refuses ours. One
// started from this data dir (its pid file says so: started before the credentials existed, or with
// others) is restarted with them; any other is the operator's, and what to do is theirs to choose:
// the error says what their choices are.
import { credentialsFile } from '../credentials.mjs';
import { ENV_NAME, show, where } from './config.mjs';
import { runningPid } from './running.mjs';

const OPEN_ADVICE = {
  redis:
    'stop it (e.g. `systemctl stop redis-server`) and run this again to start one with the generated password, ' +
    'or give it a password (requirepass) and set REDIS_URL=redis://:<password>@host:port.',
  nats:
    'stop it and run this again to start one with the generated users (scripts/lib/nats-config.mjs), ' +
    'or set NATS_URL to a server of yours with credentials (nats://user:password@host:port).',
};

/**
 * The servers among `unauthenticated` (survey()'s) to restart with the generated credentials; throws,
 * naming every problem at once, when any of them is not ours.
 */
export function restartsFor(c, unauthenticated, log) {
  const problems = [];
  const restart = [];
  for (const { name, auth } of unauthenticated) {
    const s = c[name];
    const pid = runningPid(name, s);
    if (pid) {
      log(
        `stack: ${name} at ${where(s)} (pid ${pid}, started from ${show(s.dir)}) ` +
          `${auth === 'open' ? 'requires no credentials' : 'refuses the generated credentials'}; ` +
          `restarting it with those of ${show(credentialsFile())}`,
      );
      restart.push(name);
    } else if (auth === 'open') {
      problems.push(
        `stack: ${name} at ${where(s)} answers without asking for credentials, ` +
          `and Coursegraph's services authenticate (${name === 'redis' ? 'a password' : 'one NATS user per service'}). ` +
          `It was not started from ${show(s.dir)}, so it is left alone: ${OPEN_ADVICE[name]}`,
      );
    } else {
      problems.push(
        `stack: ${name} at ${where(s)} refuses the credentials ` +
          `${s.url.username || s.url.password ? `in ${ENV_NAME[name]} or ` : ''}${show(credentialsFile())} gives; ` +
          `set ${ENV_NAME[name]} with the right ones, ` +
          'or stop that server and run this again to start one with the generated ones.',
      );
    }
  }
  if (problems.length) throw new Error(problems.join('\n'));
  return restart;
}
