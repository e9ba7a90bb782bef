import { createLogger, loadConfigOrExit, runService } from '@coursegraph/service-kit';
import { gatewaySettings } from './config.js';
import { createGatewayApp } from './app.js';

const config = loadConfigOrExit(gatewaySettings);
const logger = createLogger('gateway', config.logLevel);
await runService({ name: 'gateway', logger, port: config.port, app: await createGatewayApp(config, logger) });
