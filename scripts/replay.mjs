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
//
// A Rust subgraph (a `binary` in schema/subgraphs.json) rebuilds its own projection: this runs
// `<binary> rebuild <consumer>` (build it first: cargo build --bins in rust-subgraphs/), with the
// settings the platform gives it. For search, the index folder is SEARCH_INDEX_DIR (default
// .data/search-index-<POSTGRES_DB>, as `npm start` uses); the subgraph serving it must be stopped.
//
//   node scripts/replay.mjs search search-courses
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, contextDatabaseUrl, databaseName, env, natsUrl } from './lib/env.mjs';
import { subgraphList } from './lib/platform.mjs';

function fail(message) {
  console.error(`replay: ${message}`);
  process.exit(1);
}

const [context, name] = process.argv.slice(2);
if (!context || !name) fail('usage: node scripts/replay.mjs <context> <consumer>');

const rust = subgraphList().find((s) => s.name === context && s.binary);
if (rust) {
  const binary = path.join(ROOT, rust.binary);
  if (!fs.existsSync(binary)) fail(`${rust.binary} not found (run cargo build --bins in rust-subgraphs/)`);
  console.log(`replay: ${context}/${name} by ${rust.binary} rebuild`);
  const result = spawnSync(binary, ['rebuild', name], {
    stdio: 'inherit',
    env: {
      ...process.env,
      NATS_URL: natsUrl(),
      SEARCH_INDEX_DIR: env('SEARCH_INDEX_DIR', path.join(ROOT, '.data', `search-index-${databaseName()}`)),
    },
  });
  if (result.error) fail(result.error.message);
  process.exit(result.status ?? 1);
}
const modulePath = path.join(ROOT, 'subgraphs', context, 'dist/events/consumers.js');
if (!fs.existsSync(modulePath))
  fail(`${path.relative(ROOT, modulePath)} not found (does ${context} consume events? run npm run build)`);

const mod = await import(pathToFileURL(modulePath).href);
const spec = mod.consumers?.[name];
if (!spec)
  fail(`${context} has no consumer "${name}"; known: ${Object.keys(mod.consumers ?? {}).join(', ') || 'none'}`);
if (typeof spec.reset !== 'function')
  fail(`consumer "${name}" has no reset: it is not a projection and cannot be replayed`);
if (typeof mod.createTransaction !== 'function')
  fail(`${path.relative(ROOT, modulePath)} does not export createTransaction(databaseUrl)`);

const { createLogger, replayConsumer } = await import('@coursegraph/service-kit');
const transaction = await mod.createTransaction(contextDatabaseUrl(context));
const started = Date.now();
let lastPrint = 0;
console.log(`replay: ${context}/${name} from stream ${spec.stream}`);
const result = await replayConsumer({
  context,
  name,
  stream: spec.stream,
  natsUrl: natsUrl(),
  handlers: spec.handlers,
  reset: spec.reset,
  transaction,
  logger: createLogger(`replay-${context}`),
  onProgress: ({ events, streamSequence, lastSequence }) => {
    if (Date.now() - lastPrint < 1000) return;
    lastPrint = Date.now();
    console.log(`replay: ${events} events applied, stream sequence ${streamSequence}/${lastSequence}`);
  },
});
console.log(
  `replay: done, ${result.events} events applied (${result.deadLettered} dead-lettered) up to sequence ${result.lastSequence} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
// Prisma clients and pools keep the event loop alive; the work is committed.
process.exit(result.deadLettered > 0 ? 2 : 0);
