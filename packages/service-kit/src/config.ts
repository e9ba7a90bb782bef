/**
 * Environment parsing, done once at start-up: every problem is reported together and the
 * process exits non-zero, so a misconfigured service never half-starts.
 */

import {
  jwksUrlProblem,
  natsCredentialsProblem,
  parseHostList,
  redisCredentialsProblem,
} from './production-profile.js';
import { parseAddressList } from './metrics/address-list.js';

export interface Setting<T> {
  /** Environment variable name. */
  env: string;
  /** Value used when the variable is unset or empty; omit to make the variable required. */
  default?: T;
  /** Turns the raw string into a value; throw an Error with a readable message when invalid. */
  parse: (raw: string) => T;
  /** One line for the README and for error messages. */
  doc: string;
  /** How the README's configuration table shows a default that is not a plain value (a parsed structure). */
  formatDefault?(value: T): string;
  /** The default is for development only (a shared secret): production (COURSEGRAPH_MODE) refuses it, set or not. Default false. */
  developmentDefault?: boolean;
  /**
   * The production profile's check of this setting (production-profile.ts): a problem, or undefined
   * when the value is fit for production. `config` holds every setting that parsed. Run only in
   * production mode. Default: none. (A method, so that a Setting<string> is still a Setting<unknown>.)
   */
  productionCheck?(value: T, config: Readonly<Record<string, unknown>>): string | undefined;
}

export type ConfigSpec = Record<string, Setting<unknown>>;
// The value's type is what `parse` returns (a productionCheck may accept a wider type).
export type ConfigOf<S extends ConfigSpec> = {
  readonly [K in keyof S]: S[K] extends { parse: (raw: string) => infer T } ? T : never;
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

/** Reads `spec` from `env` into a frozen object, or throws ConfigError listing every problem. */
export function readConfig<S extends ConfigSpec>(spec: S, env: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  const { values, problems } = inspectConfig(spec, env);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(values) as ConfigOf<S>;
}

/**
 * Reads `spec` from `env` without throwing: the settings that parsed, and every problem (invalid
 * values, and in production the development defaults and the production profile's checks).
 */
export function inspectConfig<S extends ConfigSpec>(
  spec: S,
  env: NodeJS.ProcessEnv = process.env,
): { values: Partial<ConfigOf<S>>; problems: string[] } {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, setting] of Object.entries(spec)) {
    const raw = env[setting.env];
    if (raw === undefined || raw === '') {
      if (setting.default === undefined) problems.push(`${setting.env} is required (${setting.doc})`);
      else out[key] = setting.default;
      continue;
    }
    try {
      out[key] = setting.parse(raw);
    } catch (err) {
      problems.push(`${setting.env}=${JSON.stringify(raw)}: ${(err as Error).message}`);
    }
  }
  // A development secret must never protect a production deployment, nor may the production
  // profile's other demo settings (production-profile.ts) run one.
  if (out.mode === 'production') {
    for (const [key, setting] of Object.entries(spec)) {
      if (setting.developmentDefault && out[key] === setting.default)
        problems.push(`${setting.env} must be set to a secret of your own in production (${setting.doc})`);
      const problem = key in out ? setting.productionCheck?.(out[key], out) : undefined;
      if (problem) problems.push(`${setting.env} ${problem}`);
    }
  }
  return { values: out as Partial<ConfigOf<S>>, problems };
}

/** Like readConfig, but prints the problems and exits: for a service's main module. */
export function loadConfigOrExit<S extends ConfigSpec>(
  spec: S,
  env: NodeJS.ProcessEnv = process.env,
  /** Checks that span settings; throws ConfigError listing what is wrong. */
  check?: (config: ConfigOf<S>) => void,
): ConfigOf<S> {
  try {
    const config = readConfig(spec, env);
    check?.(config);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

export const parse = {
  string: (raw: string) => raw,
  port: (raw: string) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error('expected a TCP port (0-65535)');
    return n;
  },
  positiveInt: (raw: string) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n <= 0) throw new Error('expected a positive integer');
    return n;
  },
  url: (raw: string) => {
    try {
      return new URL(raw).toString();
    } catch {
      throw new Error('expected a URL');
    }
  },
  boolean: (raw: string) => {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new Error('expected true or false');
  },
  oneOf:
    <T extends string>(...values: T[]) =>
    (raw: string): T => {
      if (!(values as string[]).includes(raw)) throw new Error(`expected one of ${values.join(', ')}`);
      return raw as T;
    },
};

/** The deployment mode; production turns off developer conveniences such as open introspection. */
export type Mode = 'development' | 'production' | 'test';

/**
 * Operation limits (operation-limits/), applied by the gateway and every subgraph before validation
 * and execution. The Rust search subgraph reads the same variables with the same defaults.
 */
export const operationLimitSettings = {
  operationLimits: {
    env: 'OPERATION_LIMITS',
    default: true,
    parse: parse.boolean,
    doc: 'apply the operation limits below (off only so a benchmark can compare)',
  },
  limitMaxTokens: {
    env: 'LIMIT_MAX_TOKENS',
    default: 2000,
    parse: parse.positiveInt,
    doc: 'most lexical tokens in a GraphQL document (checked while parsing)',
  },
  limitMaxDepth: {
    env: 'LIMIT_MAX_DEPTH',
    default: 15,
    parse: parse.positiveInt,
    doc: 'deepest field nesting of an operation, fragments followed (`__Type.ofType` adds none)',
  },
  limitMaxRecursion: {
    env: 'LIMIT_MAX_RECURSION',
    default: 2,
    parse: parse.positiveInt,
    doc: 'most times one field coordinate (Type.field) may appear along one path (`__Type.ofType` exempt)',
  },
  limitMaxAliases: {
    env: 'LIMIT_MAX_ALIASES',
    default: 30,
    parse: parse.positiveInt,
    doc: 'most aliased fields in a document',
  },
  limitMaxRootFields: {
    env: 'LIMIT_MAX_ROOT_FIELDS',
    default: 20,
    parse: parse.positiveInt,
    doc: 'most top-level fields of an operation, fragments expanded',
  },
  limitMaxCostAnonymous: {
    env: 'LIMIT_MAX_COST_ANONYMOUS',
    default: 5000,
    parse: parse.positiveInt,
    doc: 'highest estimated cost of an operation for callers without a token',
  },
  limitMaxCostSignedIn: {
    env: 'LIMIT_MAX_COST_SIGNED_IN',
    default: 10000,
    parse: parse.positiveInt,
    doc: 'highest estimated cost for signed-in learners and instructors',
  },
  limitMaxCostAdmin: {
    env: 'LIMIT_MAX_COST_ADMIN',
    default: 50000,
    parse: parse.positiveInt,
    doc: 'highest estimated cost for admins',
  },
  limitDefaultListSize: {
    env: 'LIMIT_DEFAULT_LIST_SIZE',
    default: 10,
    parse: parse.positiveInt,
    doc: 'assumed length of a list field that has neither `first` nor `@listSize(assumedSize:)`',
  },
} satisfies ConfigSpec;

/** Who may always read /metrics. */
const METRICS_LOOPBACK = '127.0.0.0/8,::1';

/** Prometheus metrics (metrics/, docs/metrics.md), read by every service's server. */
export const metricsSettings = {
  metrics: {
    env: 'METRICS',
    default: true,
    parse: parse.boolean,
    doc: 'Prometheus metrics at GET /metrics on the service port (docs/metrics.md); off only to measure their cost',
  },
  metricsAllowedCidrs: {
    env: 'METRICS_ALLOWED_CIDRS',
    // Loopback only: the gateway's port is public, and a subgraph's is reachable inside the cluster.
    default: parseAddressList(METRICS_LOOPBACK),
    parse: (raw: string) => parseAddressList(`${METRICS_LOOPBACK},${raw}`),
    formatDefault: () => METRICS_LOOPBACK,
    doc: 'comma-separated addresses and CIDR ranges (besides loopback, always allowed) that may read /metrics; others get 404',
  },
} satisfies ConfigSpec;

/** Where spans go when TRACING=on names no endpoint: a local OTLP/HTTP receiver (Jaeger under START_TRACING=1). */
export const LOCAL_OTLP_ENDPOINT = 'http://127.0.0.1:4318';

/** OpenTelemetry traces (tracing/, docs/observability.md), read where the kit starts the SDK. */
export const tracingSettings = {
  tracing: {
    env: 'TRACING',
    // null: decided by OTEL_EXPORTER_OTLP_ENDPOINT (tracing/settings.ts tracingOn), so naming an endpoint is enough.
    default: null as boolean | null,
    parse: (raw: string): boolean | null => {
      if (/^(on|1|true|yes)$/i.test(raw)) return true;
      if (/^(off|0|false|no)$/i.test(raw)) return false;
      throw new Error('expected on or off');
    },
    formatDefault: () => 'off (on when OTEL_EXPORTER_OTLP_ENDPOINT is set)',
    doc: 'OpenTelemetry traces (on | off): spans of requests, subgraph calls, SQL statements and events, exported over OTLP/HTTP (docs/observability.md); off starts no SDK',
  },
  otlpEndpoint: {
    env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    default: '',
    parse: (raw: string) => parse.url(raw).replace(/\/+$/, ''),
    formatDefault: () => `(none; ${LOCAL_OTLP_ENDPOINT} when TRACING=on)`,
    doc: 'base URL of the OTLP/HTTP receiver; spans are POSTed as JSON to <url>/v1/traces. Setting it turns tracing on unless TRACING=off',
  },
  tracingSampleRatio: {
    env: 'TRACING_SAMPLE_RATIO',
    default: 1,
    parse: (raw: string) => {
      const n = Number(raw);
      if (!Number.isFinite(n) || n < 0 || n > 1) throw new Error('expected a number from 0 to 1');
      return n;
    },
    doc: "share of new traces recorded (0 to 1); a request or event that arrives with a trace follows its caller's sampling decision",
  },
  tracingExportDelayMs: {
    env: 'OTEL_BSP_SCHEDULE_DELAY',
    // Short, so a trace shows in the UI while you still look at the request; batches stay small anyway.
    default: 1000,
    parse: parse.positiveInt,
    doc: 'how often finished spans are sent in one batch (ms)',
  },
} satisfies ConfigSpec;

/** Settings every service reads the same way. */
export const commonSettings = {
  ...operationLimitSettings,
  ...metricsSettings,
  ...tracingSettings,
  mode: {
    env: 'COURSEGRAPH_MODE',
    default: 'development' as Mode,
    parse: parse.oneOf<Mode>('development', 'production', 'test'),
    doc: 'development | production | test',
  },
  httpHost: {
    env: 'HTTP_HOST',
    // Loopback on one machine: subgraphs are reached through the gateway. A container listens on all
    // of its addresses (0.0.0.0), where probes and Services reach the pod's IP.
    default: '127.0.0.1',
    parse: (raw: string) => {
      if (!/^[A-Za-z0-9.:[\]-]+$/.test(raw))
        throw new Error('expected an address or host name to listen on, e.g. 127.0.0.1 or 0.0.0.0');
      return raw;
    },
    doc: 'the address every TypeScript service listens on (127.0.0.1 here; 0.0.0.0 in a container)',
  },
  logLevel: {
    env: 'LOG_LEVEL',
    default: 'info',
    parse: parse.oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
    doc: 'pino log level',
  },
  redisUrl: {
    env: 'REDIS_URL',
    default: 'redis://127.0.0.1:6379',
    parse: parse.url,
    productionCheck: redisCredentialsProblem,
    doc: 'Redis for caches, limits and token revocation (production: with a password in the URL)',
  },
  redisCommandTimeoutMs: {
    env: 'REDIS_COMMAND_TIMEOUT_MS',
    // Redis answers in well under a millisecond here; a longer wait means it is away, and every
    // use on the request path has a policy for that (see redis.ts) better than hanging.
    default: 300,
    parse: parse.positiveInt,
    doc: 'the longest a Redis command may take before it fails (each use then applies its Redis-down policy)',
  },
  natsUrl: {
    env: 'NATS_URL',
    default: 'nats://127.0.0.1:4222',
    parse: parse.url,
    productionCheck: natsCredentialsProblem,
    doc: 'NATS JetStream for events (production: with credentials in the URL)',
  },
  authIssuer: {
    env: 'AUTH_ISSUER',
    default: 'coursegraph-identity',
    parse: parse.string,
    doc: 'JWT issuer (iss) of access tokens',
  },
  authAudience: {
    env: 'AUTH_AUDIENCE',
    default: 'coursegraph',
    parse: parse.string,
    doc: 'JWT audience (aud) of access tokens',
  },
  internalSigningSecret: {
    env: 'INTERNAL_SIGNING_SECRET',
    default: 'coursegraph-development-internal-signing-secret',
    developmentDefault: true,
    parse: (raw: string) => {
      if (raw.length < 32) throw new Error('expected at least 32 characters');
      return raw;
    },
    doc: 'HMAC key the gateway signs the client IP with for subgraphs (x-client-ip); refused at its default in production',
  },
} satisfies ConfigSpec;

/** Where services other than identity find the keys that verify access tokens. */
export const jwksSetting = {
  jwksUrl: {
    env: 'IDENTITY_JWKS_URL',
    default: 'http://127.0.0.1:4001/.well-known/jwks.json',
    parse: parse.url,
    productionCheck: (url: string, config) =>
      jwksUrlProblem(url, (config.jwksHttpAllowedHosts as string[] | undefined) ?? []),
    doc: "identity's JWKS, for verifying access tokens (production: https, or http to a host in JWKS_HTTP_ALLOWED_HOSTS)",
  },
  jwksHttpAllowedHosts: {
    env: 'JWKS_HTTP_ALLOWED_HOSTS',
    // None: production fetches the keys over https unless the operator names a host they vouch for.
    default: [] as string[],
    parse: parseHostList,
    doc: 'comma-separated hosts whose JWKS production may fetch over plain http (a loopback, a private network); none by default',
  },
} satisfies ConfigSpec;
