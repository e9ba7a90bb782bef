/**
 * A gateway-like yoga with the persisted-documents plugins (client address, auth as the gateway
 * does it, then gateway/src/persisted-documents), over a small schema whose resolvers count their
 * calls, served on a real socket (the plugins tell in-process calls by their missing socket).
 * Real Redis and NATS (the test servers), each harness with Redis keys of its own; identity's
 * internal partner-access route is a small server of the test's own speaking its contract
 * (signed requests only, 200 with the access record, 404 for an unknown key).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { createSchema } from 'graphql-yoga';
import { create, toBinary } from '@bufbuild/protobuf';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { IdentityEvents } from '@coursegraph/contracts';
import {
  createAuthVerifier,
  createRedis,
  createServiceYoga,
  envelopeHeaders,
  natsConnectOptions,
  newId,
  newTraceparent,
  persistedDocumentId,
  serve,
  verifyInternalRequest,
  type Redis,
  type RunningServer,
} from '@coursegraph/service-kit';
import { testIssuer, type TestIssuer } from '@coursegraph/test-support';
import { createClientIp } from '../../src/client-ip.js';
import { createRequestAuth } from '../../src/request-auth.js';
import { requestClient, type RequestClient } from '../../src/request-client.js';
import {
  createPersistedDocuments,
  keyHash,
  PARTNER_ACCESS_PATH,
  type PartnerAccess,
  type PersistedDocuments,
  type PersistedDocumentsMode,
} from '../../src/persisted-documents/index.js';

export const SECRET = 'persisted-documents-test-secret-0123456789';

export const calls: Record<string, number> = {};
const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Query {
      hello(name: String): String!
      secret: String!
    }
    type Mutation {
      rename(title: String!): String!
    }
  `,
  resolvers: {
    Query: {
      hello: (_: unknown, { name }: { name?: string }) => (count('hello'), `hello ${name ?? 'world'}`),
      secret: () => (count('secret'), 's3cret'),
    },
    Mutation: { rename: (_: unknown, { title }: { title: string }) => (count('rename'), title) },
  },
});

/** The project's own documents in these tests (exact texts, as a client preset writes them). */
export const FIRST_PARTY = {
  hello: 'query Hello($name: String) {\n  hello(name: $name)\n}',
  rename: 'mutation Rename($title: String!) {\n  rename(title: $title)\n}',
};
export const idOf = persistedDocumentId;

/** A partner API key in identity's format. */
export const newApiKey = () => `cgp_${randomBytes(32).toString('base64url')}`;

/** Identity's partner-access route, answering from `partners` (keyed by the key's sha256). */
export interface IdentityStandIn {
  url: string;
  partners: Map<string, PartnerAccess>;
  /** Requests that reached the route with a valid signature. */
  lookups: number;
  /** Requests refused for their signature. */
  unsigned: number;
  /** While true, every request is answered 500 (identity unwell). */
  down: boolean;
  close(): Promise<void>;
}

export async function identityStandIn(): Promise<IdentityStandIn> {
  const standIn: Omit<IdentityStandIn, 'url' | 'close'> = { partners: new Map(), lookups: 0, unsigned: 0, down: false };
  const server: Server = createServer((req, res) => {
    const reply = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const url = req.url ?? '';
    if (standIn.down) return reply(500, { error: 'down' });
    if (!url.startsWith(PARTNER_ACCESS_PATH)) return reply(404, { error: 'no such route' });
    const headers = new Headers(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    if (!verifyInternalRequest(headers, url, SECRET)) {
      standIn.unsigned++;
      return reply(401, { error: 'unsigned' });
    }
    standIn.lookups++;
    const access = standIn.partners.get(url.slice(PARTNER_ACCESS_PATH.length));
    return access ? reply(200, access) : reply(404, { error: 'unknown or revoked key' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(standIn, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** Registers a partner with one key and `documents` (id → text) at the stand-in; returns the key. */
export function addPartner(
  identity: IdentityStandIn,
  documents: Record<
    string,
    { text: string; operationName: string; operationType?: 'query' | 'mutation'; cost?: number }
  >,
  limits: { rateLimitPerMinute?: number; costBudgetPerMinute?: number } = {},
): { key: string; access: PartnerAccess } {
  const key = newApiKey();
  const access: PartnerAccess = {
    partner: {
      id: randomUUID(),
      name: `partner-${randomUUID().slice(0, 8)}`,
      rateLimitPerMinute: limits.rateLimitPerMinute ?? 1000,
      costBudgetPerMinute: limits.costBudgetPerMinute ?? 100_000,
    },
    keyId: randomUUID(),
    documents: Object.fromEntries(
      Object.entries(documents).map(([id, d]) => [
        id,
        {
          operationName: d.operationName,
          operationType: d.operationType ?? 'query',
          document: d.text,
          cost: d.cost ?? 1,
        },
      ]),
    ),
  };
  identity.partners.set(keyHash(key), access);
  return { key, access };
}

export interface Harness {
  url: string;
  issuer: TestIssuer;
  redis: Redis;
  keyPrefix: string;
  persisted: PersistedDocuments;
  /** Every log line, parsed. */
  logs: Record<string, unknown>[];
  /** What the plugins noted about each answered request, in order. */
  noted: RequestClient[];
  close(): Promise<void>;
}

let manifestPath: string | undefined;
function firstPartyManifestFile(): string {
  if (!manifestPath) {
    manifestPath = path.join(mkdtempSync(path.join(tmpdir(), 'persisted-documents-')), 'persisted-documents.json');
    writeFileSync(
      manifestPath,
      JSON.stringify(Object.fromEntries(Object.values(FIRST_PARTY).map((d) => [idOf(d), d]))),
    );
  }
  return manifestPath;
}

export async function startHarness(options: {
  mode: PersistedDocumentsMode;
  identityUrl: string;
  getMaxAgeSeconds?: number;
}): Promise<Harness> {
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const redis = createRedis(process.env.REDIS_URL!);
  const issuer = await testIssuer();
  const auth = createRequestAuth(
    createAuthVerifier({ getKey: issuer.getKey, issuer: 'coursegraph-identity', audience: 'coursegraph', redis }),
  );
  const clientIp = createClientIp({ signingSecret: SECRET });
  const keyPrefix = `test:${randomUUID()}:`;
  const persisted = await createPersistedDocuments({
    mode: options.mode,
    manifestPath: firstPartyManifestFile(),
    identityUrl: options.identityUrl,
    signingSecret: SECRET,
    natsUrl: process.env.NATS_URL!,
    redis,
    apqTtlSeconds: 60,
    getMaxAgeSeconds: options.getMaxAgeSeconds ?? 60,
    clientIp,
    logger,
    keyPrefix,
  });
  const noted: RequestClient[] = [];
  const yoga = createServiceYoga({
    schema,
    logger,
    context: async (request) => {
      const { viewer, token } = await auth(request);
      return { requestId: '', viewer, accessToken: token };
    },
    plugins: [
      clientIp.plugin,
      ...persisted.plugins,
      { onResponse: ({ request }) => void noted.push(requestClient(request)) },
    ],
  });
  const server: RunningServer = await serve({ logger, port: 0, handler: (req, res) => yoga(req, res) });
  return {
    url: `${server.url}/graphql`,
    issuer,
    redis,
    keyPrefix,
    persisted,
    logs,
    noted,
    async close() {
      await server.shutdown();
      await persisted.close();
      redis.disconnect();
    },
  };
}

/** Publishes identity.partner.changed as identity's outbox would (operator user). */
export async function publishPartnerChanged(partnerId: string, change: string): Promise<void> {
  const nc: NatsConnection = await connect(natsConnectOptions(process.env.NATS_URL!));
  const event = IdentityEvents.partnerChanged;
  nc.publish(
    event.subject,
    toBinary(event.schema, create(event.schema, { partnerId, change, changedAt: new Date().toISOString() })),
    {
      headers: envelopeHeaders({
        id: newId(),
        subject: event.subject,
        source: 'identity',
        time: new Date(),
        traceparent: newTraceparent(),
      }),
    },
  );
  await nc.flush();
  await nc.close();
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: { data?: Record<string, any> | null; errors?: { message: string; extensions?: Record<string, any> }[] };
}

/** A request to the harness; the body (JSON) is parsed when there is one. */
export async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : {} };
}

export const postJson = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  call(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify(body),
  });

/** GET /graphql?<params>, objects as JSON. */
export const getWith = (url: string, params: Record<string, unknown>, headers: Record<string, string> = {}) => {
  const query = new URLSearchParams(
    Object.entries(params).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  );
  return call(`${url}?${query}`, { headers: { accept: 'application/graphql-response+json', ...headers } });
};

export const errorOf = (answer: Answer) => answer.body.errors?.[0]?.extensions ?? {};
