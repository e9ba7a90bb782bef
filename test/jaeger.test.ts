/**
 * The trace backend `START_TRACING=1 npm start` runs (scripts/lib/stack/jaeger.mjs with
 * deploy/jaeger/config.yaml): its settings and the configuration Jaeger reads with them. Jaeger
 * itself is not built here (minutes of Go); docs/observability.md says how it was checked running.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { JAEGER_CONFIG, jaegerConfig } from '../scripts/lib/stack/jaeger.mjs';

const saved = { ...process.env };
afterEach(() => {
  for (const name of ['JAEGER_OTLP_PORT', 'JAEGER_UI_PORT'])
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
});

/** The configuration as Jaeger reads it: `${env:NAME:-default}` replaced from `env`, else the default. */
function rendered(env: Record<string, string>) {
  const text = fs.readFileSync(JAEGER_CONFIG, 'utf8');
  return parse(text.replace(/\$\{env:(\w+):-([^}]*)\}/g, (_, name: string, fallback: string) => env[name] ?? fallback));
}

/** Every `endpoint` anywhere in the configuration. */
function endpoints(node: unknown): string[] {
  if (!node || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === 'endpoint' && typeof value === 'string' ? [value] : endpoints(value),
  );
}

describe('the local Jaeger', () => {
  it('listens on the configured ports, on loopback only, and tells the services where to send spans', () => {
    process.env.JAEGER_OTLP_PORT = '14318';
    process.env.JAEGER_UI_PORT = '26686';
    const j = jaegerConfig();
    expect(j.otlpUrl).toBe('http://127.0.0.1:14318');
    expect(j.uiUrl).toBe('http://127.0.0.1:26686');
    const config = rendered(j.env);
    expect(config.receivers.otlp.protocols.http.endpoint).toBe('127.0.0.1:14318');
    expect(config.extensions.jaeger_query.http.endpoint).toBe('127.0.0.1:26686');
    // Nothing else: no gRPC receiver, no metrics or health port of Jaeger's own, all on loopback.
    expect(Object.keys(config.receivers.otlp.protocols)).toEqual(['http']);
    expect(config.service.telemetry.metrics.level).toBe('none');
    expect(endpoints(config).every((e) => e.startsWith('127.0.0.1:'))).toBe(true);
  });

  it("has the same defaults as the config file's", () => {
    delete process.env.JAEGER_OTLP_PORT;
    delete process.env.JAEGER_UI_PORT;
    const j = jaegerConfig();
    expect(j.env).toEqual({ JAEGER_OTLP_PORT: '4318', JAEGER_UI_PORT: '16686' });
    // Jaeger started by hand without the variables listens where the services look by default.
    const config = rendered({});
    expect(config.receivers.otlp.protocols.http.endpoint).toBe(`127.0.0.1:${j.otlpPort}`);
    expect(config.extensions.jaeger_query.http.endpoint).toBe(`127.0.0.1:${j.uiPort}`);
  });

  it('keeps the spans it receives in bounded memory and serves them to the query API', () => {
    const config = rendered(jaegerConfig().env);
    const { receivers, exporters } = config.service.pipelines.traces;
    expect(receivers).toEqual(['otlp']);
    expect(exporters).toEqual(['jaeger_storage_exporter']);
    const store = config.exporters.jaeger_storage_exporter.trace_storage;
    expect(config.extensions.jaeger_query.storage.traces).toBe(store);
    expect(config.extensions.jaeger_storage.backends[store].memory.max_traces).toBeGreaterThan(0);
    expect(config.service.extensions).toEqual(expect.arrayContaining(['jaeger_storage', 'jaeger_query']));
  });

  it('refuses a port that is not one, naming the setting', () => {
    process.env.JAEGER_OTLP_PORT = '4318; rm -rf /';
    expect(() => jaegerConfig()).toThrow(/^JAEGER_OTLP_PORT must be a port number \(1-65535\)/);
    process.env.JAEGER_OTLP_PORT = '70000';
    expect(() => jaegerConfig()).toThrow(/^JAEGER_OTLP_PORT must be a port number/);
    process.env.JAEGER_OTLP_PORT = '16686';
    process.env.JAEGER_UI_PORT = '16686';
    expect(() => jaegerConfig()).toThrow('JAEGER_OTLP_PORT and JAEGER_UI_PORT must differ (both 16686)');
  });
});
