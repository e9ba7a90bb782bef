import {
  createLogger,
  loadConfigOrExit,
  runService,
  serviceProcesses,
  startOutboxRelay,
} from '@coursegraph/service-kit';
import { checkPaymentConfig, paymentSettings } from './config.js';
import { createPaymentApp } from './app.js';
import { startPaymentConsumers } from './events/consumers.js';

const config = loadConfigOrExit(paymentSettings, process.env, checkPaymentConfig);
const logger = createLogger('payment', config.logLevel);
const role = serviceProcesses(config.processes, logger);
if (role.serves) {
  const app = await createPaymentApp(config, logger);
  // The relay, consumers and reconciler run in one process only (the first, with SUBGRAPH_PROCESSES > 1).
  const background = role.background ? await startBackground(app) : [];
  await runService({
    name: 'payment subgraph',
    logger,
    port: config.port,
    host: config.httpHost,
    app,
    workers: background,
  });
  logger.info({ provider: app.provider.name }, 'payment provider');
}

/** What payment does besides serving: publishing its outbox, consuming events, settling pending charges. */
async function startBackground(app: Awaited<ReturnType<typeof createPaymentApp>>) {
  const relay = await startOutboxRelay({
    context: 'payment',
    databaseUrl: config.databaseUrl,
    natsUrl: config.natsUrl,
    logger,
  });
  const consumers = await startPaymentConsumers({
    db: app.db,
    deps: { providerName: app.provider.name, logger, kick: () => app.reconciler.kick() },
    natsUrl: config.natsUrl,
    logger,
  });
  // Pending charges and refunds are settled by look-ups and retries (PAYMENT_RECONCILE_INTERVAL_MS).
  const reconciler = app.reconciler.start();
  // Consumers stop before the relay, so what they write to the outbox is published on the next start at the latest.
  return [consumers, reconciler, relay];
}
