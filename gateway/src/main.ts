import { createLogger, loadConfigOrExit, runService, serviceProcesses } from '@coursegraph/service-kit';
import { gatewaySettings } from './config.js';
import { createGatewayApp } from './app.js';

const config = loadConfigOrExit(gatewaySettings);
const logger = createLogger('gateway', config.logLevel);
// With GATEWAY_WORKERS > 1 the primary only supervises; every process it forks serves the port.
if (serviceProcesses(config.workers, logger).serves) {
  const app = await createGatewayApp(config, logger);
  const running = await runService({ name: 'gateway', logger, port: config.port, host: config.httpHost, app });
  app.attach(running.server);
}
