/**
 * Dead letters for operators (scripts/events.mjs): counts per dead-letter subject, and the re-drive.
 *
 * Re-driving sends a dead letter back to the ONE consumer that failed it, not to the original
 * subject: republishing `course.course.published` would reach every consumer of the subject again,
 * and those that do not record processed events (the gateway's live subscriptions) would show it
 * twice; with its original Nats-Msg-Id it would also be dropped by JetStream's duplicate window
 * when re-driven soon after the event. So each dead letter is published, headers and payload as
 * they were, to `redrive.<context>.<consumer>` (the REDRIVE work-queue stream) and then deleted from
 * DEADLETTER. The consumer (consumer.ts) reads that subject beside its stream, restores the
 * original subject and event id (x-subject, x-event-id) and handles it as a first delivery: its
 * processed_events has no record of it (the failed attempts rolled back), so it is applied once;
 * if it fails again, it is retried and dead-lettered again like any event. A re-drive interrupted
 * between the publish and the delete publishes again when repeated: JetStream drops the copy within
 * its duplicate window (msg id `rd:<dead-letter sequence>`), and processed_events skips it after that.
 */
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { DEADLETTER_STREAM, ensureRedriveStream, REDRIVE_STREAM, redriveSubject } from './nats.js';
import { DEADLETTER_HEADERS } from './types.js';

export interface DeadLetterSummary {
  /** `deadletter.<context>.<consumer>`. */
  subject: string;
  context: string;
  consumer: string;
  /** Dead letters waiting on the subject. */
  count: number;
  /** When the oldest and the newest of them were dead-lettered (ISO). */
  oldest: string | null;
  newest: string | null;
  /** x-error of the newest. */
  lastError: string | null;
  /** Re-driven dead letters the consumer has not handled yet (REDRIVE). */
  waitingRedrive: number;
}

export interface DeadLetter {
  /** Its DEADLETTER stream sequence. */
  sequence: number;
  time: string;
  eventId: string | null;
  /** The subject it was first delivered on. */
  originalSubject: string | null;
  error: string | null;
  deliveryCount: number;
}

const TARGET = /^(?:deadletter\.)?([a-z][a-z0-9_]*)\.([a-z][a-z0-9_-]{0,63})$/;

/** `deadletter.<context>.<consumer>` or `<context>.<consumer>` to its parts; throws naming the expected form. */
export function parseDeadLetterTarget(target: string): { subject: string; context: string; consumer: string } {
  const m = TARGET.exec(target);
  if (!m)
    throw new Error(
      `not a dead-letter subject: ${JSON.stringify(target)} (expected deadletter.<context>.<consumer> or <context>.<consumer>)`,
    );
  return { subject: `deadletter.${m[1]}.${m[2]}`, context: m[1]!, consumer: m[2]! };
}

const notFound = (err: Error & { code?: number }) => err.code === 10059 || /stream not found/i.test(err.message);

async function subjectCounts(jsm: JetStreamManager, stream: string, filter: string): Promise<Record<string, number>> {
  try {
    return (await jsm.streams.info(stream, { subjects_filter: filter })).state.subjects ?? {};
  } catch (err) {
    if (notFound(err as Error)) return {};
    throw err;
  }
}

/** Each message of `subject` in `stream`, oldest first, up to what was there at the start (at most `limit`). */
async function readSubject(
  nc: NatsConnection,
  stream: string,
  subject: string,
  count: number,
  limit = Number.POSITIVE_INFINITY,
): Promise<JsMsg[]> {
  if (count === 0) return [];
  // One subject as a string: NATS 2.9 takes no list.
  const consumer = await jetstream(nc).consumers.get(stream, {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.All,
  });
  const out: JsMsg[] = [];
  const messages = await consumer.consume({ max_messages: Math.min(256, count) });
  for await (const m of messages) {
    out.push(m);
    if (out.length >= Math.min(count, limit) || m.info.pending === 0) break;
  }
  await messages.close();
  return out;
}

/** Every dead-letter subject with its count (subjects with none are not listed), by subject. */
export async function summarizeDeadLetters(nc: NatsConnection): Promise<DeadLetterSummary[]> {
  const jsm = await jetstreamManager(nc);
  const counts = await subjectCounts(jsm, DEADLETTER_STREAM, 'deadletter.>');
  const waiting = await subjectCounts(jsm, REDRIVE_STREAM, 'redrive.>');
  const out: DeadLetterSummary[] = [];
  for (const [subject, count] of Object.entries(counts).sort(([a], [b]) => a.localeCompare(b))) {
    let parts;
    try {
      parts = parseDeadLetterTarget(subject);
    } catch {
      continue;
    } // not written by the backbone
    const [first] = await readSubject(nc, DEADLETTER_STREAM, subject, count, 1);
    const newest = await jsm.streams.getMessage(DEADLETTER_STREAM, { last_by_subj: subject });
    out.push({
      subject,
      context: parts.context,
      consumer: parts.consumer,
      count,
      oldest: first?.time.toISOString() ?? null,
      newest: newest?.time.toISOString() ?? null,
      lastError: newest?.header?.get(DEADLETTER_HEADERS.error) || null,
      waitingRedrive: waiting[redriveSubject(parts.context, parts.consumer)] ?? 0,
    });
  }
  return out;
}

const describe = (m: JsMsg): DeadLetter => ({
  sequence: m.seq,
  time: m.time.toISOString(),
  eventId: m.headers?.get(DEADLETTER_HEADERS.eventId) || null,
  originalSubject: m.headers?.get(DEADLETTER_HEADERS.subject) || null,
  error: m.headers?.get(DEADLETTER_HEADERS.error) || null,
  deliveryCount: Number(m.headers?.get(DEADLETTER_HEADERS.deliveryCount)) || 0,
});

/** The dead letters of `target` (see parseDeadLetterTarget), oldest first, at most `limit`. */
export async function listDeadLetters(nc: NatsConnection, target: string, limit = 100): Promise<DeadLetter[]> {
  const { subject } = parseDeadLetterTarget(target);
  const jsm = await jetstreamManager(nc);
  const count = (await subjectCounts(jsm, DEADLETTER_STREAM, subject))[subject] ?? 0;
  return (await readSubject(nc, DEADLETTER_STREAM, subject, count, limit)).map(describe);
}

export interface RedriveResult {
  subject: string;
  /** Where they went: `redrive.<context>.<consumer>`. */
  redriveSubject: string;
  redriven: DeadLetter[];
  /**
   * Left in place: dead letters without an event id or original subject (messages that were malformed
   * when they arrived, e.g. without the envelope): no consumer could ever apply them.
   */
  skipped: DeadLetter[];
}

/**
 * Sends the dead letters of `target` (all, or only those of `eventIds`) back to their consumer and
 * removes them from DEADLETTER (see the top of this file). Each is deleted only after REDRIVE acked it.
 */
export async function redriveDeadLetters(
  nc: NatsConnection,
  target: string,
  eventIds?: string[],
): Promise<RedriveResult> {
  const { subject, context, consumer } = parseDeadLetterTarget(target);
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await ensureRedriveStream(jsm);
  const to = redriveSubject(context, consumer);
  const count = (await subjectCounts(jsm, DEADLETTER_STREAM, subject))[subject] ?? 0;
  const redriven: DeadLetter[] = [];
  const skipped: DeadLetter[] = [];
  for (const m of await readSubject(nc, DEADLETTER_STREAM, subject, count)) {
    const letter = describe(m);
    if (eventIds && !eventIds.includes(letter.eventId ?? '')) continue;
    if (!letter.eventId || !letter.originalSubject) {
      skipped.push(letter);
      continue;
    }
    await js.publish(to, m.data, { headers: m.headers, msgID: `rd:${m.seq}` });
    await jsm.streams.deleteMessage(DEADLETTER_STREAM, m.seq, false);
    redriven.push(letter);
  }
  return { subject, redriveSubject: to, redriven, skipped };
}
