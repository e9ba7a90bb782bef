// scripts/events.mjs as an operator runs it (a child process, settings from the environment) against
// the real PostgreSQL and NATS: a parked outbox row and a dead letter are listed with their counts,
// re-driven once their cause is fixed, and hostile arguments are refused without changing anything.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import {
  createLogger,
  DEADLETTER_STREAM,
  enqueueEvent,
  natsConnectOptions,
  newId,
  newTraceparent,
  on,
  REDRIVE_STREAM,
  redriveConsumerName,
  startConsumer,
  startOutboxRelay,
  type EventConsumer,
  type OutboxRelay,
  type PgExecutor,
  type ReceivedEvent,
} from '../packages/service-kit/src/index.js';
import {
  createScratchContext,
  pingEvent,
  type Ping,
  type ScratchContext,
} from '../packages/service-kit/src/events/testing.js';
import { eventually } from '@coursegraph/test-support';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4223';
const logger = createLogger('events-cli-test', process.env.EVENTS_TEST_LOG ?? 'silent');
const MAX_ATTEMPTS = 2;

let scratch: ScratchContext;
let ctx: string;
let nc: NatsConnection;
let jsm: JetStreamManager;
let relay: OutboxRelay;
let consumer: EventConsumer;
let broken = true;
const applied: ReceivedEvent[] = [];

/** Runs the CLI; resolves with its exit status and output (never rejects on a non-zero status). */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'scripts/events.mjs'), ...args],
      {
        cwd: ROOT,
        timeout: 60_000,
        env: {
          ...process.env,
          NATS_URL,
          EVENT_OUTBOX_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
          [`${ctx.toUpperCase()}_DATABASE_URL`]: scratch.databaseUrl,
        },
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  scratch = await createScratchContext(
    'evcli',
    'create table $schema.projection (event_id uuid primary key, key text not null);',
  );
  ctx = scratch.context;
  nc = await connect(natsConnectOptions(NATS_URL));
  jsm = await jetstreamManager(nc);
  relay = await startOutboxRelay({
    context: ctx,
    databaseUrl: scratch.databaseUrl,
    natsUrl: NATS_URL,
    logger,
    pollIntervalMs: 100,
    maxAttempts: MAX_ATTEMPTS,
  });
  consumer = await startConsumer({
    context: ctx,
    name: 'cli',
    stream: ctx.toUpperCase(),
    natsUrl: NATS_URL,
    logger,
    transaction: scratch.transaction,
    maxDeliver: 2,
    backoffMs: [50],
    handlers: [
      on(pingEvent(ctx), async (tx: PgExecutor, e) => {
        const key = (e.payload as unknown as Ping).key;
        if (broken && key === 'poison') throw new Error('the poison cannot be applied yet');
        await tx.$executeRawUnsafe(`insert into "${ctx}".projection (event_id, key) values ($1, $2)`, e.id, key);
        applied.push(e);
      }),
    ],
  });
});

afterAll(async () => {
  await consumer?.stop();
  await relay?.stop();
  await jsm?.consumers.delete(REDRIVE_STREAM, redriveConsumerName(ctx, 'cli')).catch(() => undefined);
  await jsm?.streams.delete(ctx.toUpperCase()).catch(() => undefined);
  await jsm?.streams.delete(`${ctx.toUpperCase()}_LATE`).catch(() => undefined);
  await jsm?.streams.purge(DEADLETTER_STREAM, { filter: `deadletter.${ctx}.>` }).catch(() => undefined);
  await nc?.close();
  await scratch?.drop();
});

const outboxRow = async (id: string) =>
  (await scratch.pool.query(`select attempts, published_at from "${ctx}".outbox_events where id = $1`, [id])).rows[0];

describe('node scripts/events.mjs', () => {
  it('lists a parked outbox row per context and re-drives it once the cause is fixed', async () => {
    // An event for a subject no stream takes yet (its stream is created later): refused, then parked.
    const id = newId();
    const subject = `${ctx}_late.ping.sent`;
    await scratch.pool.query(
      `insert into "${ctx}".outbox_events (id, subject, payload, traceparent) values ($1, $2, $3, $4)`,
      [id, subject, Buffer.from([0x0a, 1, 0x41]), newTraceparent()],
    );
    await eventually('the row parked', async () => (await outboxRow(id)).attempts >= MAX_ATTEMPTS, {
      timeoutMs: 15_000,
    });

    const list = await cli('outbox', 'list', ctx);
    expect(list.code).toBe(0);
    const line = list.stdout.split('\n').find((l) => l.startsWith(`${ctx} `));
    expect(line).toMatch(
      new RegExp(`^${ctx}\\s+1\\s+\\d{4}-\\d\\d-\\d\\dT\\S+Z\\s+0\\s+1\\s+no JetStream stream takes ${subject}`),
    );
    expect(list.stdout).toContain(`  ${id}  ${subject}  created `);
    expect(list.stdout).toContain(`attempts ${MAX_ATTEMPTS}`);

    // Refused arguments change nothing.
    for (const args of [
      ['outbox', 'redrive', 'Bad;Name'],
      ['outbox', 'redrive', ctx, 'not-an-id'],
      ['outbox', 'purge', ctx],
      ['nonsense'],
    ]) {
      const refused = await cli(...args);
      expect(refused.code, args.join(' ')).toBe(2);
      expect(refused.stderr, args.join(' ')).toMatch(
        /^events: (not a context name|not an outbox row id|unknown outbox command|unknown command)/,
      );
      expect(refused.stderr).toContain('usage: node scripts/events.mjs');
    }
    expect(await outboxRow(id)).toMatchObject({ attempts: MAX_ATTEMPTS, published_at: null });

    await jsm.streams.add({ name: `${ctx.toUpperCase()}_LATE`, subjects: [`${ctx}_late.>`] });
    const redrive = await cli('outbox', 'redrive', ctx);
    expect(redrive.code).toBe(0);
    expect(redrive.stdout).toContain(`re-driven ${ctx} ${id}`);
    expect(redrive.stdout).toContain(`outbox: 1 parked row(s) of ${ctx} handed back to its relay`);
    await eventually('the re-driven row published', async () => (await outboxRow(id)).published_at !== null, {
      timeoutMs: 15_000,
    });
    expect(
      (await jsm.streams.getMessage(`${ctx.toUpperCase()}_LATE`, { last_by_subj: subject }))?.header.get('Nats-Msg-Id'),
    ).toBe(id);

    const after = await cli('outbox', 'list', ctx);
    expect(after.stdout.split('\n').find((l) => l.startsWith(`${ctx} `))).toMatch(
      new RegExp(`^${ctx}\\s+0\\s+-\\s+0\\s+0\\s+-$`),
    );
    // A second re-drive of that id finds nothing parked and says so.
    const again = await cli('outbox', 'redrive', ctx, id);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain(`not parked (unknown, published or still retrying): ${ctx} ${id}`);
  });

  it('counts dead letters per subject and re-drives them to their consumer, which applies each once', async () => {
    const type = pingEvent(ctx);
    const poison = await scratch.transaction((tx) => enqueueEvent(tx, ctx, type, { key: 'poison' }));
    const fine = await scratch.transaction((tx) => enqueueEvent(tx, ctx, type, { key: 'fine' }));
    await eventually('the event behind the poison', () => applied.some((e) => e.id === fine), { timeoutMs: 15_000 });
    const subject = `deadletter.${ctx}.cli`;
    await eventually(
      'the dead letter',
      async () =>
        (await jsm.streams.info(DEADLETTER_STREAM, { subjects_filter: subject })).state.subjects?.[subject] === 1,
      { timeoutMs: 15_000 },
    );

    const list = await cli('deadletters', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^dead letters: \d+ on \d+ subject\(s\)/);
    expect(list.stdout).toMatch(
      new RegExp(`\\n${subject.replace(/\./g, '\\.')}\\s+1\\s+\\S+Z\\s+\\S+Z\\s+0\\s+the poison cannot be applied yet`),
    );
    const letters = await cli('deadletters', 'list', `${ctx}.cli`);
    expect(letters.stdout).toContain(`${subject}: 1 dead letter(s)`);
    expect(letters.stdout).toMatch(
      new RegExp(`${poison}\\s+${type.subject.replace(/\./g, '\\.')}\\s+2\\s+the poison cannot be applied yet`),
    );

    for (const args of [
      ['deadletters', 'redrive', 'deadletter.>'],
      ['deadletters', 'redrive', `${ctx}.cli`, 'x'],
      ['deadletters', 'list', 'a', 'b'],
    ]) {
      const refused = await cli(...args);
      expect(refused.code, args.join(' ')).toBe(2);
      expect(refused.stderr, args.join(' ')).toMatch(
        /^events: (not a dead-letter subject|not an event id|deadletters list takes at most one subject)/,
      );
    }
    expect((await jsm.streams.info(DEADLETTER_STREAM, { subjects_filter: subject })).state.subjects?.[subject]).toBe(1);

    broken = false;
    const redrive = await cli('deadletters', 'redrive', `${ctx}.cli`);
    expect(redrive.code).toBe(0);
    expect(redrive.stdout).toContain(`re-driven ${poison} ${type.subject}`);
    expect(redrive.stdout).toContain(`dead letters: 1 sent back to redrive.${ctx}.cli`);
    await eventually('the re-driven event applied', () => applied.some((e) => e.id === poison), { timeoutMs: 15_000 });

    const after = await cli('deadletters', 'list');
    expect(after.stdout).not.toContain(subject);
    const rows = (await scratch.pool.query(`select key from "${ctx}".projection order by key`)).rows.map((r) => r.key);
    expect(rows).toEqual(['fine', 'poison']);
    expect(applied.filter((e) => e.id === poison)).toHaveLength(1);
    expect(consumer.deadLettered).toBe(1);
  });
});
