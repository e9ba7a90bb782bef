import { createLogger, loadConfigWithChecksOrExit, runService, startOutboxRelay } from '@coursegraph/service-kit';
import { identitySettings } from './config.js';
import { createIdentityApp } from './app.js';
import { IDENTITY_CONTEXT } from './domain/events.js';
import { demoAdminCheck } from './demo-admin-check.js';

// In production the demo admin's credentials must not work: checked against the database, listed with every other problem.
const config = await loadConfigWithChecksOrExit(identitySettings, [demoAdminCheck()]);
const logger = createLogger('identity', config.logLevel);
const app = await createIdentityApp(config, logger);
// Publishes registrations and deactivations written to the outbox, to the IDENTITY stream.
const relay = await startOutboxRelay({
  context: IDENTITY_CONTEXT,
  databaseUrl: config.databaseUrl,
  natsUrl: config.natsUrl,
  logger,
});
await runService({
  name: 'identity subgraph',
  logger,
  port: config.port,
  host: config.httpHost,
  app,
  workers: [relay],
});
