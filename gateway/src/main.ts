import { createLogger, loadConfigOrExit, runService } from '@coursegraph/service-kit';
import { gatewaySettings } from './config.js';
import { createGatewayApp } from './app.js';

const config = loadConfigOrExit(gatewaySettings);
const logger = createLogger('gateway', config.logLevel);
const app = await createGatewayApp(config, logger);
const running = await runService({ name: 'gateway', logger, port: config.port, app });
app.attach(running.server);
