/**
 * Test and benchmark support for the event backbone (not exported from the kit's index): a scratch
 * PostgreSQL schema with the backbone's two tables, a tiny protobuf event type, and a polling wait.
 * The tables are the ones `prisma migrate diff` writes for the OutboxEvent / ProcessedEvent models in
 * prisma/<context>/schema.prisma; keep them identical.
 */
import { randomBytes } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { createFileRegistry, type DescMessage } from '@bufbuild/protobuf';
import {
  FileDescriptorProtoSchema,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
} from '@bufbuild/protobuf/wkt';
import pg from 'pg';
import { pgTransaction, type PgExecutor } from './pg.js';
import { defineEvent, type EventType, type Transaction } from './types.js';

export const backboneTablesSql = (schema: string): string => `
CREATE TABLE "${schema}"."outbox_events" (
    "id" UUID NOT NULL,
    "subject" TEXT NOT NULL,
    "payload" BYTEA NOT NULL,
    "traceparent" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("id")
);
CREATE TABLE "${schema}"."processed_events" (
    "consumer" TEXT NOT NULL,
    "event_id" UUID NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "processed_events_pkey" PRIMARY KEY ("consumer","event_id")
);
CREATE INDEX "outbox_events_published_at_id_idx" ON "${schema}"."outbox_events"("published_at", "id");
`;

export interface ScratchContext {
  /** Also the schema name and (uppercased) the stream name. */
  context: string;
  databaseUrl: string;
  pool: pg.Pool;
  transaction: Transaction<PgExecutor>;
  drop(): Promise<void>;
}

/**
 * A context named `<prefix>_<random>` with its own schema in the test database, owned by the superuser
 * (so it needs no role of its own); `drop()` removes the schema and closes the pool.
 */
export async function createScratchContext(prefix: string, extraSql = ''): Promise<ScratchContext> {
  const context = `${prefix}_${randomBytes(4).toString('hex')}`;
  const url = new URL(process.env.POSTGRES_ADMIN_URL || 'postgres://postgres:postgres@127.0.0.1:5432/postgres');
  url.pathname = `/${process.env.POSTGRES_DB || 'coursegraph_test'}`;
  const databaseUrl = url.toString();
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 8 });
  await pool.query(
    `create schema if not exists "${context}"; ${backboneTablesSql(context)} ${extraSql.replaceAll('$schema', `"${context}"`)}`,
  );
  return {
    context,
    databaseUrl,
    pool,
    transaction: pgTransaction(pool),
    async drop() {
      await pool.query(`drop schema if exists "${context}" cascade`);
      await pool.end();
    },
  };
}

// A message built at run time (tests must not depend on the generated contracts package).
const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: 'coursegraph/testing/v1/testing.proto',
    package: 'coursegraph.testing.v1',
    syntax: 'proto3',
    messageType: [
      {
        name: 'Ping',
        field: [
          {
            name: 'key',
            number: 1,
            type: FieldDescriptorProto_Type.STRING,
            label: FieldDescriptorProto_Label.OPTIONAL,
            jsonName: 'key',
          },
          {
            name: 'seq',
            number: 2,
            type: FieldDescriptorProto_Type.INT32,
            label: FieldDescriptorProto_Label.OPTIONAL,
            jsonName: 'seq',
          },
          {
            name: 'note',
            number: 3,
            type: FieldDescriptorProto_Type.STRING,
            label: FieldDescriptorProto_Label.OPTIONAL,
            jsonName: 'note',
          },
        ],
      },
    ],
  }),
  () => undefined,
);
export const PingSchema = registry.getMessage('coursegraph.testing.v1.Ping') as DescMessage;
export interface Ping {
  key: string;
  seq: number;
  note: string;
}

/** An event type `<context>.<entity>.<event>` carrying a Ping. */
export const pingEvent = (context: string, entity = 'ping', event = 'sent'): EventType =>
  defineEvent(`${context}.${entity}.${event}`, PingSchema);
