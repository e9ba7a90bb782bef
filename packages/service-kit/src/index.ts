export * from './config.js';
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
export * from './logger.js';
export * from './errors.js';
export * from './auth.js';
export * from './server.js';
export * from './yoga.js';
export * from './operation-limits/index.js';
export * from './redis.js';
export * from './client-ip.js';
export * from './ids.js';
export * from './relay.js';
export * from './scalars.js';
export * from './events/types.js';
export * from './events/traceparent.js';
export * from './events/nats.js';
export {
  natsConnectOptions,
  natsInboxPrefix,
  redactNatsUrl,
  type NatsConnectOptions,
} from './events/nats-credentials.js';
export { envelopeHeaders, parseEvent, MalformedEventError, type DeliveredMessage } from './events/envelope.js';
export * from './events/outbox.js';
export * from './events/outbox-settings.js';
export * from './events/event-size.js';
export * from './events/publish-failure.js';
export * from './events/parked-outbox.js';
export * from './events/dead-letters.js';
export * from './events/relay.js';
export * from './events/consumer.js';
export * from './events/replay.js';
export * from './events/pg.js';
export * from './demo-data.js';
export * from './lifecycle.js';
export {
  createSubgraph,
  type Subgraph,
  type SubgraphConfig,
  type SubgraphContext,
  type SubgraphOptions,
  type SubgraphYogaOptions,
  type OwnContext,
} from './subgraph.js';
