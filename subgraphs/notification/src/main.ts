import { createLogger, loadConfigOrExit, runSubgraph } from '@coursegraph/service-kit';
import { notificationSettings } from './config.js';
import { createNotificationApp } from './app.js';
import { startWorkers } from './workers.js';

const config = loadConfigOrExit(notificationSettings);
const logger = createLogger('notification', config.logLevel);
logger.info({ smtp: `${config.smtpHost}:${config.smtpPort}` }, 'notification: mail goes to this SMTP server');
await runSubgraph({
  name: 'notification',
  logger,
  config,
  createApp: () => createNotificationApp(config, logger),
  background: async (app) => (await startWorkers(config, app.db, logger)).inOrder,
});
