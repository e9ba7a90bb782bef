/**
 * The tracing settings (tracingSettings in config.ts, part of commonSettings, so every service
 * validates them at start and the README lists them), read from the environment where the kit
 * starts the SDK, like the metrics' and the outbox's, because the bootstrap is given no config object.
 */
import { readConfig, tracingSettings, type ConfigOf } from '../config.js';

export type TracingSettings = ConfigOf<typeof tracingSettings>;

/** Whether these settings ask for traces: TRACING, or else whether an endpoint is named. */
export const tracingOn = (settings: TracingSettings): boolean => settings.tracing ?? settings.otlpEndpoint !== '';

let fromProcessEnv: TracingSettings | undefined;
/** The tracing settings of process.env, read once. */
export function processTracingSettings(): TracingSettings {
  fromProcessEnv ??= readConfig(tracingSettings, process.env);
  return fromProcessEnv;
}
