/**
 * The process's OpenTelemetry SDK (docs/observability.md): one tracer provider per process, named
 * after its service, exporting finished spans in batches over OTLP/HTTP (JSON), with W3C
 * `traceparent` propagation and spans kept in AsyncLocalStorage, so whatever a request or an event
 * runs (resolvers, SQL, outbox writes) lands under its span.
 *
 * Off (TRACING=off, the default without OTEL_EXPORTER_OTLP_ENDPOINT), nothing is loaded or started:
 * every hook asks `tracingEnabled()` once, where it is built, and installs nothing.
 *
 * The SDK's modules (about 100 ms to load) are imported only when tracing is on, so starting is
 * asynchronous: `startTracing` decides at once, and `tracingReady()` (awaited by runService before it
 * listens, and by the relay and consumers before they start) resolves when spans are recorded.
 */
import { trace, type Tracer } from '@opentelemetry/api';
import type { Logger } from '../logger.js';
import { LOCAL_OTLP_ENDPOINT } from '../config.js';
import { processTracingSettings, tracingOn, type TracingSettings } from './settings.js';

/** The instrumentation scope of every span the project makes itself. */
export const TRACER_NAME = 'coursegraph';

interface Started {
  service: string;
  ready: Promise<void>;
  /** Sends what is buffered and stops the exporter. */
  shutdown?: () => Promise<void>;
}
let started: Started | null = null;

/** True once `startTracing` turned tracing on in this process. */
export const tracingEnabled = (): boolean => started !== null;

/** The project's tracer (a no-op one until the SDK is registered). */
export const tracer = (): Tracer => trace.getTracer(TRACER_NAME);

/**
 * Starts tracing for `service` when the settings (default: process.env's) ask for it. The first call
 * in a process decides; later ones (a second app built in one test process) change nothing.
 */
export function startTracing(
  service: string,
  logger?: Logger,
  settings: TracingSettings = processTracingSettings(),
): void {
  if (started || !tracingOn(settings)) return;
  const state: Started = { service, ready: Promise.resolve() };
  started = state;
  const endpoint = `${settings.otlpEndpoint || LOCAL_OTLP_ENDPOINT}/v1/traces`;
  state.ready = registerProvider(service, endpoint, settings).then(
    (shutdown) => {
      state.shutdown = shutdown;
      logger?.info({ endpoint, sampleRatio: settings.tracingSampleRatio }, 'tracing on: spans exported over OTLP/HTTP');
    },
    (err: Error) => {
      // Spans stay no-ops: the service runs untraced rather than not at all.
      logger?.error({ err: err.message }, 'tracing could not start; spans are not recorded');
    },
  );
}

async function registerProvider(service: string, url: string, settings: TracingSettings) {
  const [{ NodeTracerProvider }, base, { OTLPTraceExporter }, { resourceFromAttributes }, semconv] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [semconv.ATTR_SERVICE_NAME]: service }),
    // A caller's sampling decision is followed; new traces are kept at the configured ratio.
    sampler: new base.ParentBasedSampler({ root: new base.TraceIdRatioBasedSampler(settings.tracingSampleRatio) }),
    spanProcessors: [
      new base.BatchSpanProcessor(new OTLPTraceExporter({ url }), {
        scheduledDelayMillis: settings.tracingExportDelayMs,
      }),
    ],
  });
  // The AsyncLocalStorage context manager and the W3C trace-context propagator.
  provider.register();
  return () => provider.shutdown();
}

/** Resolves when spans are recorded (at once when tracing is off). */
export function tracingReady(): Promise<void> {
  return started?.ready ?? Promise.resolve();
}

/** Exports the spans still buffered and stops; for shutdown, after the last request and event. */
export async function stopTracing(): Promise<void> {
  await started?.ready;
  await started?.shutdown?.();
}
