// What the tests share. vitest's global set-up is ./services.ts, which vitest.config.ts names by path.
export { eventually, type EventuallyOptions } from './eventually.js';
export { AUTH_FIELDS, GOOD_PASSWORD, errorCode, postGraphQL, uniqueEmail, type GraphQLResponse } from './graphql.js';
export {
  CHECKOUT,
  SANDBOX_CARDS,
  VIEWER_ENROLLMENT,
  checkoutWhenPurchasable,
  gatewayClient,
  person,
  publishCourse,
  serviceLog,
  startE2E,
  type E2E,
  type Gql,
  type Person,
  type PublishedCourse,
} from './journeys.js';
export {
  ANTHROPIC_VERSIONS,
  TEST_API_KEY,
  hashedEmbedding,
  startMessagesApiServer,
  type MessagesApiFault,
  type MessagesApiServer,
  type MessagesApiServerOptions,
  type MessagesRequestBody,
  type ReceivedRequest,
} from './messages-api-server.js';
export { freePort } from './ports.js';
export { SPAN_KIND, descendsFrom, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';
export { privateNats, type PrivateNats } from './private-nats.js';
export { privateRedis, type PrivateRedis } from './private-redis.js';
export { runNode, runProcess, type Finished } from './run-node.js';
export {
  CATALOG_QUERY,
  DEEP_QUERY,
  MUTATION,
  ROOT,
  backoffDelay,
  checkMigrations,
  contextDatabaseUrl,
  createSupervisor,
  databaseName,
  freshMigratedDatabase,
  postgresAdminUrl,
  redisUrl,
  withNatsUser,
} from './scripts.js';
export { testIssuer, type TestIssuer, type TestRole } from './tokens.js';
export { createUpload, makeClip, patchUpload, tusHeaders, tusMetadata, uploadLessonVideo } from './video.js';
// The project's own operations (schema/operations/) as typed documents, by GraphQL Code Generator's
// client preset (`npm run generate`): `operations.CoursePageDocument`, its `__meta__.hash` the persisted id.
export * as operations from './generated/operations/graphql.js';
