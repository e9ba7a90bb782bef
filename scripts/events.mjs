#!/usr/bin/env node
// Events an operator has to look at: parked outbox rows (events the NATS server refused to take, see
// packages/service-kit/src/events/relay.ts) and dead letters (events a consumer failed, see consumer.ts),
// with their counts, and the re-drive of each.
//
//   node scripts/events.mjs [list]                              both summaries
//   node scripts/events.mjs outbox list [<context>...]          per context: parked (count, oldest, last error),
//                                                               retrying, unpublished; a named context also lists its parked rows
//   node scripts/events.mjs outbox redrive <context> [<id>...]  publish its parked rows (or those ids) again; fix the cause first
//   node scripts/events.mjs deadletters list [<subject>]        per dead-letter subject: count, oldest, newest, last error,
//                                                               re-driven but not yet handled; with a subject, its dead letters
//   node scripts/events.mjs deadletters redrive <subject> [<event-id>...]
//                                                               send them back to their consumer (only it), then delete them
//
// <subject> is deadletter.<context>.<consumer> or <context>.<consumer>. Exit status: 0 done, 1 failed, 2 usage.
// Settings as for `npm start` (scripts/lib/env.mjs): <CONTEXT>_DATABASE_URL (or the defaults per context),
// NATS_URL, and EVENT_OUTBOX_MAX_ATTEMPTS (what counts as parked; the services' value).
import { deadLettersCommand, outboxCommand, UsageError } from './lib/events-commands.mjs';

const USAGE = `usage: node scripts/events.mjs [list]
       node scripts/events.mjs outbox list [<context>...]
       node scripts/events.mjs outbox redrive <context> [<id>...]
       node scripts/events.mjs deadletters list [<subject>]
       node scripts/events.mjs deadletters redrive <subject> [<event-id>...]`;

async function main(argv) {
  const [area = 'list', action = 'list', ...rest] = argv;
  if (area === 'list' && argv.length <= 1) {
    const outbox = await outboxCommand('list', []);
    console.log('');
    const dead = await deadLettersCommand('list', []);
    return Math.max(outbox, dead);
  }
  if (area === 'outbox') return outboxCommand(action, rest);
  if (area === 'deadletters') return deadLettersCommand(action, rest);
  throw new UsageError(`unknown command ${JSON.stringify(area)}`);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError) {
    console.error(`events: ${err.message}\n${USAGE}`);
    process.exitCode = 2;
  } else {
    console.error(`events: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
