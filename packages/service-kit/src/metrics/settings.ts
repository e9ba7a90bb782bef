/**
 * The metrics settings (config.ts, metricsSettings: part of commonSettings, so every TypeScript
 * service lists them), read from the environment where the kit needs them, like the outbox's
 * settings: the server and the events code are given no config object.
 */
import { metricsSettings, readConfig, type ConfigOf } from '../config.js';

export type MetricsSettings = ConfigOf<typeof metricsSettings>;

let fromProcessEnv: MetricsSettings | undefined;
/** The metrics settings of process.env, read once. */
export function processMetricsSettings(): MetricsSettings {
  fromProcessEnv ??= readConfig(metricsSettings, process.env);
  return fromProcessEnv;
}
