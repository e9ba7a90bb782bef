// The kit's public API: what services, the gateway, the scripts and the tests use, named one by one
// so that nothing internal leaks out by accident. Internals are imported by their module path.

// Configuration: specs of settings read from the environment, and the settings every service shares.
export {
  readConfig,
  inspectConfig,
  loadConfigOrExit,
  parse,
  ConfigError,
  commonSettings,
  jwksSetting,
  metricsSettings,
  tracingSettings,
  type Setting,
  type ConfigSpec,
  type ConfigOf,
  type Mode,
} from './config.js';
// Production profile: what a service refuses to start with in production. The checks the common
// settings carry are named in their types, so services' specs (which spread them) need them too.
export {
  databasePasswordProblem,
  redisCredentialsProblem,
  natsCredentialsProblem,
  jwksUrlProblem,
  sandboxProviderProblem,
  parseHostList,
  refuseInProduction,
} from './production-profile.js';
export { readConfigWithChecks, loadConfigWithChecksOrExit, type ProductionCheck } from './startup-checks.js';
// JSON logs.
export { createLogger, type Logger } from './logger.js';
// Errors a client sees, from the fixed code set.
export {
  ErrorCode,
  appError,
  badInput,
  unauthenticated,
  forbidden,
  notFound,
  conflict,
  rateLimited,
  isAppError,
} from './errors.js';
// Auth: access tokens verified against the JWKS, the viewer, role checks, revocation.
export {
  createAuthVerifier,
  remoteJwks,
  bearerToken,
  requireViewer,
  requireRole,
  revokeSessionAccess,
  revokeUserAccessBefore,
  MAX_ACCESS_TOKEN_TTL_SECONDS,
  type AuthVerifier,
  type AuthVerifierOptions,
  type AuthContext,
  type AccessTokenClaims,
  type Role,
  type Viewer,
} from './auth.js';
// Background jobs on a timer (runs never overlap; stop() waits for the run in hand).
export { startPeriodicJob, type PeriodicJob } from './periodic-job.js';
// HTTP server: health and readiness probes, graceful shutdown.
export { serve, type ServeOptions, type ReadinessReport, type RunningServer } from './server.js';
// Yoga: the one way a service builds its GraphQL app; Plugin is the type of a service's own plugins.
export { createServiceYoga, type ServiceYogaOptions } from './yoga/service-yoga.js';
export type { Plugin } from 'graphql-yoga';
// Operation limits (tokens, depth, aliases, cost), shared by the subgraphs and the gateway.
export {
  createOperationLimiter,
  OPERATION_BATCH,
  type OperationLimiter,
  type OperationLimitsOptions,
} from './operation-limits/index.js';
// What registering persisted documents needs to judge them as the gateway would.
export { costTableFromSdl, costLimitFor, type CostTable } from './operation-limits/index.js';
// Persisted documents: manifests and the checks each document passes before it is trusted.
export {
  parseManifest,
  checkDocument,
  apiSchemaOf,
  persistedDocumentId,
  ManifestError,
  MAX_MANIFEST_ENTRIES,
  MAX_DOCUMENT_BYTES,
  MAX_MANIFEST_BYTES,
  type CheckDocumentOptions,
  type DocumentCheck,
} from './persisted-documents.js';
// Redis clients that fail fast.
export { createRedis, type Redis, type RedisClientOptions } from './redis.js';
// The client IP the gateway signs for the subgraphs.
export { signClientIp, verifiedClientIp, type VerifyClientIpOptions } from './client-ip.js';
// Signed internal requests between services (the gateway asking identity about a partner key).
export {
  signInternalRequest,
  verifyInternalRequest,
  INTERNAL_SIGNATURE_HEADER,
  type VerifyInternalRequestOptions,
} from './internal-signature.js';
// Ids.
export { newId, isUuid } from './ids.js';
// Relay connections: cursors and page sizes.
export { pageSize, encodeCursor, decodeCursor } from './connections.js';
// Scalars.
export { DateTimeScalar } from './scalars.js';
export { CLOCK_HEADER, requestNow } from './clock.js';
// Events: types, trace context, the envelope.
export {
  defineEvent,
  type EventType,
  type EventPayload,
  type EventInit,
  type ReceivedEvent,
  type EventHandler,
  type SqlExecutor,
  type Transaction,
} from './events/types.js';
export { isTraceparent, newTraceparent } from './events/traceparent.js';
export { envelopeHeaders, parseEvent, type DeliveredMessage } from './events/envelope.js';
// Events: NATS connections and JetStream streams.
export {
  connectNats,
  ensureStream,
  streamRetentionSettings,
  DEADLETTER_STREAM,
  REDRIVE_STREAM,
  type ConnectNatsOptions,
} from './events/nats.js';
export { natsConnectOptions, redactNatsUrl, type NatsConnectOptions } from './events/nats-credentials.js';
// Events: the outbox, its relay to JetStream, and its parked rows.
export { enqueueEvent, type EnqueueOptions } from './events/outbox.js';
export { outboxSettings, outboxSettingsFromEnv } from './events/outbox-settings.js';
export { startOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from './events/relay.js';
export {
  summarizeOutbox,
  listParked,
  redriveParked,
  type OutboxSummary,
  type ParkedRow,
} from './events/parked-outbox.js';
// Events: consumers, their dead letters, and replays.
export { on, startConsumer, redriveConsumerName, type ConsumerOptions, type EventConsumer } from './events/consumer.js';
export { prismaTransaction, type TransactionalClient } from './events/prisma-transaction.js';
// Events: what projections of other contexts share.
export { requireIds, applyEnrolmentDecision, type EnrolmentDecision } from './events/projections.js';
export { startConsumers, type ConsumerSpecs } from './events/start-consumers.js';
export {
  parseDeadLetterTarget,
  summarizeDeadLetters,
  listDeadLetters,
  redriveDeadLetters,
  type DeadLetter,
  type DeadLetterSummary,
  type RedriveResult,
} from './events/dead-letters.js';
export { replayConsumer, type ReplayOptions, type ReplayResult } from './events/replay.js';
export type { PgExecutor } from './events/pg.js';
// Demo data.
export { seededRandom, waitForProjection } from './demo-data.js';
// Service lifecycle: dependency probes, run and stop.
export {
  runService,
  runSubgraph,
  type RunSubgraphOptions,
  dependencyProbes,
  isUniqueViolation,
  type DatabaseHandle,
  type RunServiceOptions,
} from './lifecycle.js';
// Prometheus metrics (docs/metrics.md): what the gateway and the services add to the process's registry.
export {
  counter,
  histogram,
  gauge,
  scrapedGauge,
  renderMetrics,
  metricsEnabled,
  observeDependency,
  observeDatabasePool,
  observeConsumerLag,
  persistedOperationNames,
  parseAddressList,
  OTHER_OPERATION,
  DURATION_BUCKETS,
  METRICS_PATH,
  type ScrapedGauge,
  type GraphqlMetricsOptions,
  type AddressList,
} from './metrics/index.js';
// Traces (docs/observability.md): the SDK, and what the gateway and the contexts' database clients hook in.
export {
  startTracing,
  tracingEnabled,
  tracer,
  contextOf,
  traceparentOf,
  tracedSqlAdapter,
  type TracingSettings,
} from './tracing/index.js';
// Each context's Prisma driver adapter: its own pg pool, observed by the metrics, with its SQL traced.
export { pgDriverAdapter, type PgAdapterClass, type PgDriverAdapterOptions } from './pg-adapter.js';
// The hottest reads in plain SQL on that pool, as named prepared statements (DB_HOT_READS).
export { SqlReads, preparedRead, hotReadsSetting, type PreparedRead, type HotReadsMode } from './sql-reads.js';
// A service as several processes sharing its port (GATEWAY_WORKERS, SUBGRAPH_PROCESSES).
export { serviceProcesses, processesSetting, type ServiceProcess } from './processes.js';
// Subgraphs: the bootstrap every subgraph uses.
export {
  createSubgraph,
  type Subgraph,
  type SubgraphConfig,
  type SubgraphContext,
  type SubgraphOptions,
  type SubgraphYogaOptions,
  type OwnContext,
} from './subgraph.js';
// Feature flags: the OpenFeature provider over an in-memory cache kept current from the flags context.
export {
  startFlags,
  flagsSettings,
  evaluateFlag,
  bucketsOf,
  flagFromWire,
  isBooleanFlag,
  offVariant,
  FlagCache,
  CoursegraphFlagProvider,
  ExposureCounts,
  exposureHook,
  FLAGS_INTERNAL_PATH,
  type Flags,
  type FlagsOptions,
  type FlagContext,
  type FlagDefinition,
  type FlagRule,
  type FlagVariant,
  type RuleOperator,
  type Evaluation,
  type EvaluationReason,
  type ExposureCount,
} from './flags/index.js';
