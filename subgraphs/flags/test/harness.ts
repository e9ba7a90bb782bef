/**
 * Flags served over real HTTP on a free port (the services' flags client loads from it) against the
 * real test database, with its outbox relay and exposure consumer on a NATS server of its own, and
 * locally signed tokens. Each test uses flag keys of its own (`uniqueKey`): the database is shared.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { FlagsEvents } from '@coursegraph/contracts';
import {
  createLogger,
  prismaTransaction,
  readConfig,
  startConsumers,
  startFlags,
  startOutboxRelay,
  type Flags,
} from '@coursegraph/service-kit';
import {
  contextDatabaseUrl,
  postGraphQL,
  privateNats,
  testIssuer,
  type PrivateNats,
  type TestIssuer,
} from '@coursegraph/test-support';
import { createFlagsApp, type FlagsApp } from '../src/app.js';
import { flagsServiceSettings, type FlagsConfig } from '../src/config.js';
import type { Tx } from '../src/data/db.js';
import { FLAGS_CONTEXT } from '../src/domain/events.js';
import { consumers } from '../src/events/consumers.js';

export interface FlagsHarness {
  app: FlagsApp;
  config: FlagsConfig;
  issuer: TestIssuer;
  nats: PrivateNats;
  /** http://127.0.0.1:<port>: the flags subgraph as services reach it. */
  url: string;
  gql: <T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ) => ReturnType<typeof postGraphQL<T>>;
  /** An admin's token (and id). */
  admin: () => Promise<{ token: string; userId: string }>;
  /** A service's flags client on this flags subgraph, as `service`'s NATS user. */
  client: (service: 'course' | 'ai', options?: { exposureReportMs?: number; flagsUrl?: string }) => Promise<Flags>;
  close: () => Promise<void>;
}

/** A flag key no other test uses. */
export const uniqueKey = (tag: string) => `${tag}-${randomUUID().slice(0, 8)}`;

export async function startFlagsService(): Promise<FlagsHarness> {
  const [nats, issuer] = await Promise.all([privateNats(), testIssuer()]);
  await nats.start();
  const config = readConfig(flagsServiceSettings, {
    ...process.env,
    FLAGS_DATABASE_URL: contextDatabaseUrl('flags'),
    NATS_URL: nats.urlAs('flags'),
  });
  const logger = createLogger('flags-test', 'silent');
  const app = await createFlagsApp(config, logger, { getKey: issuer.getKey });
  const relay = await startOutboxRelay({
    context: FLAGS_CONTEXT,
    databaseUrl: config.databaseUrl,
    natsUrl: config.natsUrl,
    logger,
  });
  const consumed = await startConsumers({
    context: FLAGS_CONTEXT,
    consumers,
    natsUrl: config.natsUrl,
    transaction: prismaTransaction<Tx>(app.db),
    logger,
  });
  const server = http.createServer(app.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients: Flags[] = [];

  return {
    app,
    config,
    issuer,
    nats,
    url,
    gql: (query, variables, token) => postGraphQL(fetch, `${url}/graphql`, query, variables, token),
    admin: () => issuer.token('ADMIN'),
    async client(service, options = {}) {
      const flags = await startFlags({
        service,
        flagsUrl: options.flagsUrl ?? url,
        signingSecret: config.internalSigningSecret,
        natsUrl: nats.urlAs(service),
        logger: createLogger(`${service}-flags-test`, 'silent'),
        changeEvent: FlagsEvents.changed,
        exposureEvent: FlagsEvents.exposureReported,
        exposureReportMs: options.exposureReportMs ?? 3_600_000,
      });
      clients.push(flags);
      return flags;
    },
    async close() {
      for (const c of clients) await c.close();
      await consumed.stop();
      await relay.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
      await nats.dispose();
    },
  };
}

export const FLAG_FIELDS = `key description enabled defaultVariant variants { key weight } rolloutPercent
  rules { attribute operator values variant } version updatedAt updatedBy { id }`;
