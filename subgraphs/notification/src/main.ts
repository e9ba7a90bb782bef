import { createLogger, loadConfigOrExit, runService } from '@coursegraph/service-kit';
import { notificationSettings } from './config.js';
import { createNotificationApp } from './app.js';
import { startWorkers } from './workers.js';

const config = loadConfigOrExit(notificationSettings);
const logger = createLogger('notification', config.logLevel);
const app = await createNotificationApp(config, logger);
const workers = await startWorkers(config, app.db, logger);
logger.info({ smtp: `${config.smtpHost}:${config.smtpPort}` }, 'notification: mail goes to this SMTP server');
await runService({
  name: 'notification subgraph',
  logger,
  port: config.port,
  host: config.httpHost,
  app,
  workers: workers.inOrder,
});
