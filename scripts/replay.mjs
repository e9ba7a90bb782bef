#!/usr/bin/env node
// Rebuilds one consumer's projection from its stream (the kit's replayConsumer): clears it, forgets the
// consumer's processed_events, re-applies every event from sequence 1 up to the stream's end at start.
// Stop the context's service first (or accept that it applies new events meanwhile; they are not lost).
//
//   node scripts/replay.mjs <context> <consumer>        e.g. node scripts/replay.mjs enrollment enrollment-courses
//
// Convention: a context with consumers builds `subgraphs/<context>/dist/events/consumers.js` (from
// src/events/consumers.ts, `npm run build` first) exporting
//   consumers: Record<consumerName, { stream: string, handlers: EventHandler<Tx>[], reset: ((tx: Tx) => Promise<void>) | null }>
//     - the key is the durable consumer name (what startConsumer is given);
//     - reset clears exactly what the handlers build; null means the consumer is not a projection
//       (e.g. a saga step with side effects) and must not be replayed;
//   createTransaction(databaseUrl: string): Transaction<Tx> | Promise<Transaction<Tx>>
//     - `(fn) => prisma.$transaction(fn)` on a client for that URL (the context's own role).
// Settings: <CONTEXT>_DATABASE_URL and NATS_URL as for `npm start` (scripts/lib/env.mjs).
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, contextDatabaseUrl, natsUrl } from './lib/env.mjs';

function fail(message) {
  console.error(`replay: ${message}`);
  process.exit(1);
}

const [context, name] = process.argv.slice(2);
if (!context || !name) fail('usage: node scripts/replay.mjs <context> <consumer>');
const modulePath = path.join(ROOT, 'subgraphs', context, 'dist/events/consumers.js');
if (!fs.existsSync(modulePath)) fail(`${path.relative(ROOT, modulePath)} not found (does ${context} consume events? run npm run build)`);

const mod = await import(pathToFileURL(modulePath).href);
const spec = mod.consumers?.[name];
if (!spec) fail(`${context} has no consumer "${name}"; known: ${Object.keys(mod.consumers ?? {}).join(', ') || 'none'}`);
if (typeof spec.reset !== 'function') fail(`consumer "${name}" has no reset: it is not a projection and cannot be replayed`);
if (typeof mod.createTransaction !== 'function') fail(`${path.relative(ROOT, modulePath)} does not export createTransaction(databaseUrl)`);

const { createLogger, replayConsumer } = await import('@coursegraph/service-kit');
const transaction = await mod.createTransaction(contextDatabaseUrl(context));
const started = Date.now();
let lastPrint = 0;
console.log(`replay: ${context}/${name} from stream ${spec.stream}`);
const result = await replayConsumer({
  context, name, stream: spec.stream, natsUrl: natsUrl(), handlers: spec.handlers, reset: spec.reset, transaction,
  logger: createLogger(`replay-${context}`),
  onProgress: ({ events, streamSequence, lastSequence }) => {
    if (Date.now() - lastPrint < 1000) return;
    lastPrint = Date.now();
    console.log(`replay: ${events} events applied, stream sequence ${streamSequence}/${lastSequence}`);
  },
});
console.log(`replay: done, ${result.events} events applied (${result.deadLettered} dead-lettered) up to sequence ${result.lastSequence} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
// Prisma clients and pools keep the event loop alive; the work is committed.
process.exit(result.deadLettered > 0 ? 2 : 0);
