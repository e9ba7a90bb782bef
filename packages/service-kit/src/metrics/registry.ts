/**
 * The process's one Prometheus registry (docs/metrics.md). A process runs one service, so the
 * metrics are module-level: the server renders them, the GraphQL plugin, the events code and the
 * gateway add to them. Every series carries `service`; prom-client's process metrics (unprefixed,
 * process_cpu_seconds_total and the like) get it as a default label when the server starts.
 *
 * Gauges that need a query (outbox backlog, consumer lag, dead letters, dependency probes) are read
 * at scrape time from the sources registered with `scrapedGauge`, each bounded by SCRAPE_TIMEOUT_MS,
 * so a dead dependency never makes a scrape hang: its series is left out (and dependency_up says 0).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { processMetricsSettings } from './settings.js';

export const registry = new Registry();

/** The request duration buckets, 5 ms to 10 s (the gateway's request deadline). */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The longest one scrape-time read may take. */
export const SCRAPE_TIMEOUT_MS = 1000;

/** True unless METRICS=off. */
export const metricsEnabled = (): boolean => processMetricsSettings().metrics;

let processService = 'unknown';
/** The service this process runs, from its logger's `service` (createLogger); 'unknown' before it is known. */
export const metricsService = (): string => processService;

/** The `service` of a logger made by createLogger (children keep it). */
export function serviceOf(logger: Pick<Logger, 'bindings'>): string {
  const service = (logger.bindings() as { service?: unknown }).service;
  return typeof service === 'string' && service ? service : processService;
}

let defaultsStarted = false;
/** Names the process's service (the first call wins) and starts prom-client's process metrics. */
export function nameMetricsService(service: string): void {
  if (processService === 'unknown' && service !== 'unknown') processService = service;
  if (defaultsStarted || !metricsEnabled()) return;
  defaultsStarted = true;
  collectDefaultMetrics({ register: registry, labels: { service: processService } });
}

/** A counter on the registry. */
export const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
  new Counter<L>({ name, help, labelNames, registers: [registry] });

/** A histogram on the registry, DURATION_BUCKETS unless given. */
export const histogram = <L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
  buckets = DURATION_BUCKETS,
) => new Histogram<L>({ name, help, labelNames, buckets, registers: [registry] });

/** A gauge set by the code that knows its value. */
export const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
  new Gauge<L>({ name, help, labelNames, registers: [registry] });

type Labels<L extends string> = Partial<Record<L, string>>;

/** Rejects after `ms`, so a read of a dead dependency ends. */
export function within<T>(promise: Promise<T>, ms = SCRAPE_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export interface ScrapedGauge<L extends string> {
  /**
   * Reads `read()` for these labels at every scrape until the returned function is called. Several
   * sources with the same labels (two consumers of one context reading its dead letters) give one
   * series: the first answer. `service` defaults to the process's service, resolved at scrape time.
   */
  observe(labels: Labels<L>, read: () => Promise<number>): () => void;
}

/**
 * A gauge read at scrape time. `onFailure`: the value when a read fails or times out (dependency_up
 * says 0); without it the series is left out of that scrape.
 */
export function scrapedGauge<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
  onFailure?: number,
): ScrapedGauge<L> {
  const sources = new Map<string, { labels: Labels<L>; reads: Set<() => Promise<number>> }>();
  new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        [...sources.values()].map(async ({ labels, reads }) => {
          const values = await Promise.all(
            [...reads].map((read) => within(read()).catch(() => onFailure ?? Number.NaN)),
          );
          const known = values.filter((v) => !Number.isNaN(v));
          if (known.length === 0) return;
          // Several sources of one series: a health gauge is up only when all are (the lowest).
          const resolved = { service: processService, ...labels } as Partial<Record<L, string>>;
          this.set(resolved, onFailure === undefined ? known[0]! : Math.min(...known));
        }),
      );
    },
  });
  return {
    observe(labels, read) {
      if (!metricsEnabled()) return () => {};
      const key = JSON.stringify(labels);
      let entry = sources.get(key);
      if (!entry) sources.set(key, (entry = { labels, reads: new Set() }));
      const source = entry;
      source.reads.add(read);
      return () => {
        source.reads.delete(read);
        if (source.reads.size === 0 && sources.get(key) === source) sources.delete(key);
      };
    },
  };
}

/** Every metric in Prometheus's text format, with the scrape-time gauges read now. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}
