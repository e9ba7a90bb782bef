/**
 * Parked outbox rows (relay.ts): unpublished rows with `attempts >= maxAttempts`. No column of their
 * own, so no migration in any context: the relay's query skips them, these functions count, list and
 * re-drive them (scripts/events.mjs; the relay's periodic log line).
 */
import type pg from 'pg';
import { outboxChannel } from './outbox.js';
import { assertContextName } from './util.js';

type Queryable = Pick<pg.Pool, 'query'>;

export interface OutboxSummary {
  /** Rows given up on until an operator re-drives them. */
  parked: number;
  /** created_at of the oldest parked row (ISO), or null. */
  oldest: string | null;
  /** Unpublished rows refused at least once and still retried by the relay. */
  retrying: number;
  /** Every unpublished row, parked or not (the relay's backlog). */
  unpublished: number;
  /** last_error of the most recently created parked row, or null. */
  lastError: string | null;
}

export interface ParkedRow {
  id: string;
  subject: string;
  createdAt: string;
  attempts: number;
  lastError: string | null;
  /** Payload bytes (headers not included). */
  bytes: number;
}

const table = (context: string) => {
  assertContextName(context);
  return `"${context}".outbox_events`;
};

export async function countParked(
  db: Queryable,
  context: string,
  maxAttempts: number,
): Promise<{ parked: number; oldest: string | null }> {
  const { rows } = await db.query<{ parked: number; oldest: Date | null }>(
    `select count(*)::int as parked, min(created_at) as oldest from ${table(context)} where published_at is null and attempts >= $1`,
    [maxAttempts],
  );
  return { parked: rows[0]!.parked, oldest: rows[0]!.oldest?.toISOString() ?? null };
}

export async function summarizeOutbox(db: Queryable, context: string, maxAttempts: number): Promise<OutboxSummary> {
  const { rows } = await db.query<{
    parked: number;
    oldest: Date | null;
    retrying: number;
    unpublished: number;
    last_error: string | null;
  }>(
    `select count(*) filter (where attempts >= $1)::int as parked,
            min(created_at) filter (where attempts >= $1) as oldest,
            count(*) filter (where attempts > 0 and attempts < $1)::int as retrying,
            count(*)::int as unpublished,
            (select last_error from ${table(context)} where published_at is null and attempts >= $1 order by id desc limit 1) as last_error
       from ${table(context)} where published_at is null`,
    [maxAttempts],
  );
  const r = rows[0]!;
  return {
    parked: r.parked,
    oldest: r.oldest?.toISOString() ?? null,
    retrying: r.retrying,
    unpublished: r.unpublished,
    lastError: r.last_error,
  };
}

/** The parked rows, oldest first (at most `limit`). */
export async function listParked(
  db: Queryable,
  context: string,
  maxAttempts: number,
  limit = 100,
): Promise<ParkedRow[]> {
  const { rows } = await db.query<{
    id: string;
    subject: string;
    created_at: Date;
    attempts: number;
    last_error: string | null;
    bytes: number;
  }>(
    `select id, subject, created_at, attempts, last_error, octet_length(payload) as bytes from ${table(context)}
      where published_at is null and attempts >= $1 order by id limit $2`,
    [maxAttempts, limit],
  );
  return rows.map((r) => ({
    id: r.id,
    subject: r.subject,
    createdAt: r.created_at.toISOString(),
    attempts: r.attempts,
    lastError: r.last_error,
    bytes: r.bytes,
  }));
}

/**
 * Gives parked rows (all, or those of `ids`) back to the relay: attempts back to 0, so they are
 * published again, in id order with the rest; last_error is kept until a publish succeeds or fails
 * anew. Wakes the context's relays. Returns the ids re-driven; an id that is not parked is left as it
 * is (a published row is never published again from here).
 */
export async function redriveParked(
  db: Queryable,
  context: string,
  maxAttempts: number,
  ids?: string[],
): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `update ${table(context)} set attempts = 0
      where published_at is null and attempts >= $1 and ($2::uuid[] is null or id = any($2::uuid[]))
      returning id`,
    [maxAttempts, ids ?? null],
  );
  if (rows.length > 0) await db.query(`select pg_notify($1, '')`, [outboxChannel(context)]);
  return rows.map((r) => r.id).sort();
}
