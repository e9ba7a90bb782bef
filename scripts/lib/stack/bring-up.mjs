// Starting the servers that do not answer: installing what they need, then starting them side by side,
// every failure reported at once.
import { ENV_NAME, SERVICES, isLocal, show, where } from './config.mjs';
import { aptInstall, packagesFor } from './install.mjs';
import { startNats } from './nats.mjs';
import { startPostgres } from './postgres.mjs';
import { survey } from './probes.mjs';
import { startRedis } from './redis.mjs';

const starters = { postgres: startPostgres, redis: startRedis, nats: startNats };

/** Starts the servers named in `missing`; resolves with `{ started, urls }`. */
export async function bringUp(c, missing, log) {
  for (const n of SERVICES) if (!missing.includes(n)) log(`stack: ${n} reachable at ${where(c[n])}, reusing it`);
  for (const n of missing) {
    if (!isLocal(c[n])) {
      throw new Error(
        `stack: ${n} is not reachable at ${where(c[n])}, and only local hosts can be started here ` +
          `(check ${ENV_NAME[n]})`,
      );
    }
  }
  const pkgs = packagesFor(missing);
  if (pkgs.length) {
    await aptInstall(pkgs, log);
    // Debian packages may start their service on install (here policy-rc.d forbids it, elsewhere it may not).
    missing = (await survey(c)).missing;
  }

  const started = [];
  const results = await Promise.allSettled(
    missing.map(async (n) => {
      log(`stack: ${n} not reachable at ${where(c[n])}, starting it from ${show(c[n].dir)}`);
      const t0 = Date.now();
      await starters[n](c, log);
      started.push(n);
      log(`stack: ${n} up in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    }),
  );
  const errors = results.filter((r) => r.status === 'rejected').map((r) => r.reason?.message ?? String(r.reason));
  if (errors.length) throw new Error(errors.join('\n\n'));
  return { started: SERVICES.filter((n) => started.includes(n)), urls: c.urls };
}
