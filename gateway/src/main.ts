import cluster from 'node:cluster';
import { createLogger, loadConfigOrExit, runService } from '@coursegraph/service-kit';
import { gatewaySettings } from './config.js';
import { createGatewayApp } from './app.js';
import { superviseWorkers } from './workers.js';

const config = loadConfigOrExit(gatewaySettings);
const logger = createLogger('gateway', config.logLevel);
if (config.workers > 1 && cluster.isPrimary) {
  // The primary only supervises; every worker below serves the port (node:cluster shares it).
  superviseWorkers(config.workers, logger);
} else {
  const app = await createGatewayApp(config, logger);
  const running = await runService({ name: 'gateway', logger, port: config.port, host: config.httpHost, app });
  app.attach(running.server);
}
