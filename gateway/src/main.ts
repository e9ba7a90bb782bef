import { createLogger, loadConfigOrExit, serve, shutdownOnSignals } from '@coursegraph/service-kit';
import { gatewaySettings } from './config.js';
import { createGatewayApp } from './app.js';

const config = loadConfigOrExit(gatewaySettings);
const logger = createLogger('gateway', config.logLevel);
const app = await createGatewayApp(config, logger);
const running = await serve({ handler: app.handler, logger, port: config.port, ready: app.ready, onShutdown: app.close });
shutdownOnSignals(running, logger);
logger.info({ url: `${running.url}/graphql` }, 'gateway listening');
