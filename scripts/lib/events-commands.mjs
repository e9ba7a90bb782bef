// The commands of scripts/events.mjs: thin over the kit's parked-outbox.ts and dead-letters.ts, which
// hold the rules (what is parked, how a dead letter goes back to its consumer).
import pg from 'pg';
import { connect } from '@nats-io/transport-node';
import {
  listDeadLetters,
  listParked,
  natsConnectOptions,
  outboxSettingsFromEnv,
  redactNatsUrl,
  parseDeadLetterTarget,
  redriveDeadLetters,
  redriveParked,
  summarizeDeadLetters,
  summarizeOutbox,
} from '@coursegraph/service-kit';
import { CONTEXTS, contextDatabaseUrl, natsUrl } from './env.mjs';

/** Bad arguments: the message, then the usage, exit status 2. */
export class UsageError extends Error {}

const CONTEXT = /^[a-z][a-z0-9_]*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function checkContext(context) {
  if (!CONTEXT.test(context ?? ''))
    throw new UsageError(`not a context name: ${JSON.stringify(context ?? '')} (e.g. ${CONTEXTS.join(', ')})`);
  return context;
}
function checkIds(ids, what) {
  const bad = ids.find((id) => !UUID.test(id));
  if (bad !== undefined) throw new UsageError(`not ${what}: ${JSON.stringify(bad)} (expected a lowercase UUID)`);
  return ids;
}

/** A table: columns padded to their widest cell, numbers right-aligned. */
function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells
      .map((c, i) => (typeof c === 'number' ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
const oneLine = (text, max = 100) => {
  const flat = (text ?? '-').replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

async function withContextDb(context, fn) {
  const pool = new pg.Pool({ connectionString: contextDatabaseUrl(context), max: 1, connectionTimeoutMillis: 10_000 });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

async function hasOutbox(pool, context) {
  const { rows } = await pool.query('select to_regclass($1) is not null as present', [`"${context}".outbox_events`]);
  return rows[0].present;
}

export async function outboxCommand(action, args) {
  const { maxAttempts } = outboxSettingsFromEnv();
  if (action === 'list') {
    const named = args.length > 0;
    const contexts = named ? args.map(checkContext) : CONTEXTS;
    const rows = [];
    const details = [];
    let failed = 0;
    for (const context of contexts) {
      try {
        await withContextDb(context, async (pool) => {
          if (!(await hasOutbox(pool, context))) {
            if (named) rows.push([context, '-', '-', '-', '-', 'no outbox table']);
            return;
          }
          const s = await summarizeOutbox(pool, context, maxAttempts);
          rows.push([context, s.parked, s.oldest ?? '-', s.retrying, s.unpublished, oneLine(s.lastError)]);
          if (named && s.parked > 0)
            details.push(
              `${context}:`,
              ...(await listParked(pool, context, maxAttempts)).map(
                (r) =>
                  `  ${r.id}  ${r.subject}  created ${r.createdAt}  attempts ${r.attempts}  ${r.bytes} B  ${oneLine(r.lastError, 200)}`,
              ),
            );
        });
      } catch (err) {
        failed++;
        rows.push([context, '?', '?', '?', '?', `cannot read: ${oneLine(err.message)}`]);
      }
    }
    console.log(
      `outbox: parked = unpublished after ${maxAttempts} refused publishes (EVENT_OUTBOX_MAX_ATTEMPTS), or too large for NATS`,
    );
    console.log(table(['context', 'parked', 'oldest parked', 'retrying', 'unpublished', 'last error'], rows));
    if (details.length) console.log(`\n${details.join('\n')}`);
    return failed > 0 ? 1 : 0;
  }
  if (action === 'redrive') {
    const [context, ...ids] = args;
    checkContext(context);
    checkIds(ids, 'an outbox row id');
    return withContextDb(context, async (pool) => {
      if (!(await hasOutbox(pool, context))) throw new Error(`${context} has no outbox table`);
      const done = await redriveParked(pool, context, maxAttempts, ids.length ? ids : undefined);
      for (const id of done) console.log(`re-driven ${context} ${id}`);
      const missed = ids.filter((id) => !done.includes(id));
      for (const id of missed) console.log(`not parked (unknown, published or still retrying): ${context} ${id}`);
      console.log(`outbox: ${done.length} parked row(s) of ${context} handed back to its relay`);
      return missed.length > 0 ? 1 : 0;
    });
  }
  throw new UsageError(`unknown outbox command ${JSON.stringify(action)}`);
}

async function withNats(fn) {
  const url = natsUrl();
  let nc;
  try {
    nc = await connect({ ...natsConnectOptions(url), name: 'events-cli', timeout: 10_000 });
  } catch (err) {
    throw new Error(`NATS at ${redactNatsUrl(url)} refused or did not answer: ${err.message}`);
  }
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}

function checkTarget(target) {
  try {
    return parseDeadLetterTarget(target ?? '');
  } catch (err) {
    throw new UsageError(err.message);
  }
}

export async function deadLettersCommand(action, args) {
  if (action === 'list') {
    if (args.length > 1) throw new UsageError('deadletters list takes at most one subject');
    if (args.length === 1) {
      const { subject } = checkTarget(args[0]);
      return withNats(async (nc) => {
        const letters = await listDeadLetters(nc, subject, 1000);
        console.log(`${subject}: ${letters.length} dead letter(s)${letters.length === 1000 ? ' (first 1000)' : ''}`);
        if (letters.length) {
          console.log(
            table(
              ['sequence', 'dead-lettered', 'event id', 'subject', 'deliveries', 'error'],
              letters.map((l) => [
                l.sequence,
                l.time,
                l.eventId ?? '-',
                l.originalSubject ?? '-',
                l.deliveryCount,
                oneLine(l.error),
              ]),
            ),
          );
        }
        return 0;
      });
    }
    return withNats(async (nc) => {
      const summary = await summarizeDeadLetters(nc);
      const total = summary.reduce((n, s) => n + s.count, 0);
      console.log(`dead letters: ${total} on ${summary.length} subject(s)`);
      if (summary.length) {
        console.log(
          table(
            ['dead-letter subject', 'count', 'oldest', 'newest', 're-driven, waiting', 'last error'],
            summary.map((s) => [
              s.subject,
              s.count,
              s.oldest ?? '-',
              s.newest ?? '-',
              s.waitingRedrive,
              oneLine(s.lastError),
            ]),
          ),
        );
      }
      return 0;
    });
  }
  if (action === 'redrive') {
    const [target, ...ids] = args;
    const { subject } = checkTarget(target);
    checkIds(ids, 'an event id');
    return withNats(async (nc) => {
      const result = await redriveDeadLetters(nc, subject, ids.length ? ids : undefined);
      for (const l of result.redriven)
        console.log(`re-driven ${l.eventId ?? '-'} ${l.originalSubject ?? '-'} (dead letter ${l.sequence})`);
      for (const l of result.skipped)
        console.log(
          `left in place: dead letter ${l.sequence} has no event id or original subject (malformed when it arrived; delete it with nats stream rmm DEADLETTER ${l.sequence})`,
        );
      const missed = ids.filter((id) => !result.redriven.some((l) => l.eventId === id));
      for (const id of missed) console.log(`no dead letter of event ${id} on ${subject}`);
      console.log(
        `dead letters: ${result.redriven.length} sent back to ${result.redriveSubject}; the consumer applies each once when it runs`,
      );
      return missed.length > 0 ? 1 : 0;
    });
  }
  throw new UsageError(`unknown deadletters command ${JSON.stringify(action)}`);
}
