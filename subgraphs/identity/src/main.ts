import { createLogger, loadConfigOrExit, serve, shutdownOnSignals } from '@coursegraph/service-kit';
import { identitySettings } from './config.js';
import { createIdentityApp } from './app.js';

const config = loadConfigOrExit(identitySettings);
const logger = createLogger('identity', config.logLevel);
const app = await createIdentityApp(config, logger);
const running = await serve({ handler: app.handler, logger, port: config.port, ready: app.ready, onShutdown: app.close });
shutdownOnSignals(running, logger);
logger.info({ url: `${running.url}/graphql` }, 'identity subgraph listening');
