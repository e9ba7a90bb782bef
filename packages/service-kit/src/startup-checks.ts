/**
 * The production profile's checks that need a service's dependencies (identity's: the demo admin's
 * credentials must not work, which needs its database). They run at start-up, after the settings
 * are read and before anything listens, and their problems join the settings' problems in one
 * ConfigError, so an operator sees every problem of a production start at once.
 */
import { ConfigError, inspectConfig, type ConfigOf, type ConfigSpec } from './config.js';

/** One check run at start-up in production mode only. */
export interface ProductionCheck<C> {
  /** What is checked, for the problem reported when the check itself fails ("the demo admin's credentials"). */
  what: string;
  /**
   * A readable problem, or undefined when all is well. `config` holds the settings that parsed (one
   * that did not is reported already); throw when the check cannot be made.
   */
  run(config: Partial<C>): Promise<string | undefined>;
}

/**
 * readConfig, and in production mode `checks` too: resolves the frozen settings, or rejects with one
 * ConfigError listing every problem. A check that cannot be made (its database is down) is a
 * problem too: production does not start on what it could not verify.
 */
export async function readConfigWithChecks<S extends ConfigSpec>(
  spec: S,
  checks: ProductionCheck<ConfigOf<S>>[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<ConfigOf<S>> {
  const { values, problems } = inspectConfig(spec, env);
  if ((values as Record<string, unknown>).mode === 'production') {
    for (const check of checks) {
      try {
        const problem = await check.run(values);
        if (problem) problems.push(problem);
      } catch (err) {
        problems.push(`${check.what} could not be checked: ${(err as Error).message}`);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(values) as ConfigOf<S>;
}

/** Like readConfigWithChecks, but prints the problems and exits 2: for a service's main module. */
export async function loadConfigWithChecksOrExit<S extends ConfigSpec>(
  spec: S,
  checks: ProductionCheck<ConfigOf<S>>[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<ConfigOf<S>> {
  try {
    return await readConfigWithChecks(spec, checks, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
