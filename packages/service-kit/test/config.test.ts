import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, commonSettings, loadConfigOrExit, parse, readConfig, type ConfigSpec } from '../src/config.js';

const spec = {
  port: { env: 'PORT', default: 4001, parse: parse.port, doc: 'HTTP port' },
  debug: { env: 'DEBUG_SQL', default: false, parse: parse.boolean, doc: 'log SQL' },
  databaseUrl: { env: 'DATABASE_URL', parse: parse.url, doc: 'PostgreSQL connection string' },
  mode: {
    env: 'COURSEGRAPH_MODE',
    default: 'development',
    parse: parse.oneOf('development', 'production', 'test'),
    doc: 'mode',
  },
} satisfies ConfigSpec;

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('readConfig', () => {
  it('reports every problem together: two bad values and one missing required variable', () => {
    const env = { PORT: '99999', DEBUG_SQL: 'maybe' };
    const problems = problemsOf(() => readConfig(spec, env));
    expect(problems).toHaveLength(3);
    expect(problems.find((p) => p.startsWith('PORT='))).toMatch(/PORT="99999": expected a TCP port/);
    expect(problems.find((p) => p.startsWith('DEBUG_SQL='))).toMatch(/DEBUG_SQL="maybe": expected true or false/);
    expect(problems.find((p) => p.startsWith('DATABASE_URL'))).toMatch(
      /DATABASE_URL is required \(PostgreSQL connection string\)/,
    );

    // The message lists all three, so a single log line tells the operator everything.
    try {
      readConfig(spec, env);
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toContain('invalid configuration');
      for (const name of ['PORT', 'DEBUG_SQL', 'DATABASE_URL']) expect(message).toContain(name);
    }
  });

  it('applies defaults for unset and empty variables and parses the rest', () => {
    const config = readConfig(spec, {
      DATABASE_URL: 'postgres://db.local:5432/app',
      DEBUG_SQL: '',
      COURSEGRAPH_MODE: 'test',
    });
    expect(config).toEqual({ port: 4001, debug: false, databaseUrl: 'postgres://db.local:5432/app', mode: 'test' });
  });

  it('treats an empty required variable as missing', () => {
    expect(problemsOf(() => readConfig(spec, { DATABASE_URL: '' }))).toEqual([
      'DATABASE_URL is required (PostgreSQL connection string)',
    ]);
  });

  it('returns a frozen object', () => {
    const config = readConfig(spec, { DATABASE_URL: 'postgres://db.local/app', PORT: '8080' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(config.port).toBe(8080);
  });

  it('refuses a listen address that is not one', () => {
    expect(() => readConfig(commonSettings, { HTTP_HOST: 'http://0.0.0.0/' })).toThrow(
      /HTTP_HOST="http:\/\/0\.0\.0\.0\/": expected an address or host name/,
    );
    expect(readConfig(commonSettings, { HTTP_HOST: '0.0.0.0' }).httpHost).toBe('0.0.0.0');
  });

  it('reads the common settings with their defaults from an empty environment', () => {
    const config = readConfig(commonSettings, {});
    expect(config).toEqual({
      mode: 'development',
      httpHost: '127.0.0.1',
      logLevel: 'info',
      redisUrl: 'redis://127.0.0.1:6379',
      natsUrl: 'nats://127.0.0.1:4222',
      authIssuer: 'coursegraph-identity',
      authAudience: 'coursegraph',
      redisCommandTimeoutMs: 300,
      internalSigningSecret: 'coursegraph-development-internal-signing-secret',
      operationLimits: true,
      limitMaxTokens: 2000,
      limitMaxDepth: 15,
      limitMaxRecursion: 2,
      limitMaxAliases: 30,
      limitMaxRootFields: 20,
      limitMaxCostAnonymous: 5000,
      limitMaxCostSignedIn: 10000,
      limitMaxCostAdmin: 50000,
      limitDefaultListSize: 10,
      metrics: true,
      metricsAllowedCidrs: expect.objectContaining({ text: '127.0.0.0/8,::1' }),
      tracing: null,
      otlpEndpoint: '',
      tracingSampleRatio: 1,
      tracingExportDelayMs: 1000,
    });
    expect(
      problemsOf(() => readConfig(commonSettings, { COURSEGRAPH_MODE: 'prod', LOG_LEVEL: 'verbose' })),
    ).toHaveLength(2);
  });
});

describe('loadConfigOrExit', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('prints every problem to stderr and exits with status 2', () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation(((code?: number) => {
      throw new Error(`exit ${code}`);
    }) as typeof process.exit);
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write);

    expect(() => loadConfigOrExit(spec, { PORT: 'x' })).toThrow('exit 2');
    expect(exit).toHaveBeenCalledWith(2);
    const output = written.join('');
    expect(output).toContain('PORT="x"');
    expect(output).toContain('DATABASE_URL is required');
  });

  it('returns the config when it is valid', () => {
    expect(loadConfigOrExit(spec, { DATABASE_URL: 'postgres://db.local/app' }).databaseUrl).toBe(
      'postgres://db.local/app',
    );
  });
});

describe('parse helpers', () => {
  it('port accepts 0..65535 integers only', () => {
    expect(parse.port('0')).toBe(0);
    expect(parse.port('4000')).toBe(4000);
    expect(parse.port('65535')).toBe(65535);
    for (const bad of ['-1', '65536', '80.5', 'http', '4000abc', 'NaN', 'Infinity']) {
      expect(() => parse.port(bad), bad).toThrow('expected a TCP port (0-65535)');
    }
  });

  it('positiveInt rejects zero, negatives and fractions', () => {
    expect(parse.positiveInt('3')).toBe(3);
    for (const bad of ['0', '-2', '1.5', 'ten'])
      expect(() => parse.positiveInt(bad), bad).toThrow('expected a positive integer');
  });

  it('boolean accepts the usual spellings, case-insensitively, and nothing else', () => {
    for (const yes of ['1', 'true', 'TRUE', 'yes', 'On']) expect(parse.boolean(yes), yes).toBe(true);
    for (const no of ['0', 'false', 'False', 'no', 'OFF']) expect(parse.boolean(no), no).toBe(false);
    for (const bad of ['maybe', 'truthy', ' true', '2', 'y'])
      expect(() => parse.boolean(bad), bad).toThrow('expected true or false');
  });

  it('oneOf accepts exactly the listed values', () => {
    const mode = parse.oneOf('development', 'production', 'test');
    expect(mode('production')).toBe('production');
    for (const bad of ['prod', 'Production', 'PRODUCTION', 'test ']) {
      expect(() => mode(bad), bad).toThrow('expected one of development, production, test');
    }
  });

  it('url normalises valid URLs and rejects the rest', () => {
    expect(parse.url('http://Example.com')).toBe('http://example.com/');
    expect(() => parse.url('not a url')).toThrow('expected a URL');
    expect(() => parse.url('://no-scheme')).toThrow('expected a URL');
  });
});
