import { parse, type ConfigSpec } from '../config.js';

/** The settings of a service that evaluates flags (spread into its config spec, like jwksSetting). */
export const flagsSettings = {
  flagsUrl: {
    env: 'FLAGS_URL',
    default: 'http://127.0.0.1:4008',
    parse: parse.url,
    doc: 'the flags subgraph, whose signed GET /internal/flags a service loads every flag from (at start, on the timer, after a NATS reconnect); unreachable: code defaults answer until it loads',
  },
  flagsRefreshMs: {
    env: 'FLAGS_REFRESH_MS',
    default: 60_000,
    parse: parse.positiveInt,
    doc: 'how often a service loads every flag again, besides applying flags.flag.changed as it is published (a safety net for missed changes)',
  },
  flagsExposureReportMs: {
    env: 'FLAGS_EXPOSURE_REPORT_MS',
    default: 10_000,
    parse: parse.positiveInt,
    doc: 'how often a service publishes the variants it served (flags.exposure.reported, counts per flag, variant and day)',
  },
} satisfies ConfigSpec;
