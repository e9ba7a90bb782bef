import { createLogger, loadConfigOrExit, runService } from '@coursegraph/service-kit';
import { identitySettings } from './config.js';
import { createIdentityApp } from './app.js';

const config = loadConfigOrExit(identitySettings);
const logger = createLogger('identity', config.logLevel);
await runService({ name: 'identity subgraph', logger, port: config.port, app: await createIdentityApp(config, logger) });
