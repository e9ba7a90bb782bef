// Traces (docs/observability.md): the SDK, the server span, SQL spans and the events' spans.
export { startTracing, stopTracing, tracingEnabled, tracingReady, tracer, TRACER_NAME } from './sdk.js';
export { processTracingSettings, tracingOn, type TracingSettings } from './settings.js';
export { contextOf, traceparentOf } from './context.js';
export { useServerSpan } from './yoga.js';
export { tracedSqlAdapter, describeStatement } from './sql.js';
export { inOutboxWriteSpan, inPublishSpan, inConsumerSpan } from './events.js';
