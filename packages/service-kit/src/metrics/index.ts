// Prometheus metrics (docs/metrics.md): the registry and its helpers, the GraphQL plugin, health
// and event gauges, the /metrics answer.
export {
  registry,
  counter,
  histogram,
  gauge,
  scrapedGauge,
  renderMetrics,
  metricsEnabled,
  nameMetricsService,
  serviceOf,
  within,
  DURATION_BUCKETS,
  SCRAPE_TIMEOUT_MS,
  type ScrapedGauge,
} from './registry.js';
export { processMetricsSettings } from './settings.js';
export { parseAddressList, type AddressList } from './address-list.js';
export {
  useGraphqlMetrics,
  persistedOperationNames,
  subgraphOperationLabel,
  OTHER_OPERATION,
  type GraphqlMetricsOptions,
} from './graphql.js';
export { observeDependency, observeDatabasePool, type Dependency } from './health.js';
export { observeOutbox, observeConsumer, observeConsumerLag, type ConsumerMetrics } from './events.js';
export { answerMetrics, METRICS_PATH } from './http.js';
