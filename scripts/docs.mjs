#!/usr/bin/env node
// The documentation that is generated from the code, so that it cannot drift from it:
//
//   node scripts/docs.mjs [events|config] [--check]      (npm run docs · npm run check:docs)
//
//   events  docs/events.md: every event of schema/events/**/*.proto with its subject, stream, fields,
//           producer and consumers.
//   config  README.md's configuration table (between <!-- config:begin --> and <!-- config:end -->):
//           every environment variable of every service's config spec, the Rust subgraphs' (their
//           src/config.rs) and the scripts', grouped by variable.
//
// Both read the build (`npm run build` first): the config specs and the consumers are imported from
// dist/, as the services run them. --check writes nothing and exits 1 naming what is stale
// (test/docs.test.ts runs it in `npm test`). Either mode exits 1 when the code contradicts itself
// (an event nothing publishes, a variable read by a script and declared nowhere, ...).
//
// Sources of truth:
//   - an event's subject is its `defineEvent` in packages/contracts/src/index.ts: producers and
//     consumers refer to events only through it. A proto comment that starts with a subject must
//     name the same one (checked).
//   - producers: the `enqueueEvent(tx, context, XEvents.y, …)` calls in subgraphs/<context>/src (the kit
//     lets a context publish only subjects under its own name), and the Rust subgraphs' files that
//     build an event's message and call `outbox::write(`;
//   - consumers: each TypeScript subgraph's `consumers` record (dist/events/consumers.js, the
//     convention scripts/replay.mjs reads), the gateway's subscription streams and response-cache
//     invalidations, the search subgraph's event decoder (rust-subgraphs/search/src/event.rs) and the
//     video subgraph's projections (rust-subgraphs/video/src/projection.rs).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { ROOT } from './lib/env.mjs';
import { subgraphList } from './lib/platform.mjs';

const EVENTS_DOC = 'docs/events.md';
const README = 'README.md';
const CONFIG_BEGIN = '<!-- config:begin -->';
const CONFIG_END = '<!-- config:end -->';

class DocsError extends Error {}

const read = (rel) => fs.readFileSync(path.join(ROOT, rel), 'utf8');
const importDist = async (rel) => {
  const file = path.join(ROOT, rel);
  if (!fs.existsSync(file)) throw new DocsError(`${rel} not found: run npm run build first`);
  return import(pathToFileURL(file).href);
};
/** Every file under `dir` (relative to the root) whose name ends with one of `exts`, sorted. */
function filesUnder(dir, exts) {
  const out = [];
  const walk = (rel) => {
    const abs = path.join(ROOT, rel);
    if (!fs.existsSync(abs)) return;
    for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
      const child = path.posix.join(rel, entry.name);
      if (entry.isDirectory()) {
        if (!['node_modules', 'dist', 'generated', 'target'].includes(entry.name)) walk(child);
      } else if (exts.some((ext) => entry.name.endsWith(ext))) out.push(child);
    }
  };
  walk(dir);
  return out.sort();
}
/** Markdown table cell: no line breaks, pipes escaped. */
const cell = (text) =>
  String(text)
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
const code = (text) => `\`${text}\``;

// ---------------------------------------------------------------------------------------------
// Event catalogue

const SCALAR_TYPES = {
  TYPE_DOUBLE: 'double',
  TYPE_FLOAT: 'float',
  TYPE_INT64: 'int64',
  TYPE_UINT64: 'uint64',
  TYPE_INT32: 'int32',
  TYPE_FIXED64: 'fixed64',
  TYPE_FIXED32: 'fixed32',
  TYPE_BOOL: 'bool',
  TYPE_STRING: 'string',
  TYPE_BYTES: 'bytes',
  TYPE_UINT32: 'uint32',
  TYPE_SFIXED32: 'sfixed32',
  TYPE_SFIXED64: 'sfixed64',
  TYPE_SINT32: 'sint32',
  TYPE_SINT64: 'sint64',
};

/** The proto files as buf compiles them (descriptors with their comments). */
function protoFiles() {
  const buf = path.join(ROOT, 'node_modules/.bin/buf');
  const result = spawnSync(buf, ['build', 'schema/events', '-o', '-#format=json'], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (result.status !== 0)
    throw new DocsError(`buf build schema/events failed: ${result.stderr || result.error?.message}`);
  return JSON.parse(result.stdout).file.filter((f) => f.name.startsWith('coursegraph/'));
}

/** Comments by descriptor path ("4,0,2,1" = message 0, field 1), leading and trailing joined. */
function commentsOf(file) {
  const comments = new Map();
  for (const loc of file.sourceCodeInfo?.location ?? []) {
    const text = [loc.leadingComments, loc.trailingComments].filter(Boolean).join(' ').replace(/\s+/g, ' ').trim();
    if (text && loc.path) comments.set(loc.path.join(','), text);
  }
  return comments;
}

/** Messages and enums of the proto files, by full name (`coursegraph.course.v1.CourseSnapshot`). */
function protoTypes(files) {
  const types = new Map();
  for (const file of files) {
    const comments = commentsOf(file);
    const addMessages = (messages, prefix, pathPrefix) =>
      (messages ?? []).forEach((m, i) => {
        const p = [...pathPrefix, i];
        const fullName = `${prefix}.${m.name}`;
        types.set(fullName, {
          kind: 'message',
          name: m.name,
          fullName,
          file: file.name,
          package: file.package,
          comment: comments.get(p.join(',')) ?? '',
          fields: (m.field ?? []).map((f, j) => ({
            name: f.name,
            number: f.number,
            repeated: f.label === 'LABEL_REPEATED',
            type: f.typeName ? f.typeName.replace(/^\./, '') : (SCALAR_TYPES[f.type] ?? f.type),
            comment: comments.get([...p, 2, j].join(',')) ?? '',
          })),
        });
        addMessages(m.nestedType, fullName, [...p, 3]);
        addEnums(m.enumType, fullName, [...p, 4]);
      });
    const addEnums = (enums, prefix, pathPrefix) =>
      (enums ?? []).forEach((e, i) => {
        const p = [...pathPrefix, i];
        const fullName = `${prefix}.${e.name}`;
        types.set(fullName, {
          kind: 'enum',
          name: e.name,
          fullName,
          file: file.name,
          package: file.package,
          comment: comments.get(p.join(',')) ?? '',
          values: (e.value ?? []).map((v, j) => ({
            name: v.name,
            number: v.number,
            comment: comments.get([...p, 2, j].join(',')) ?? '',
          })),
        });
      });
    addMessages(file.messageType, file.package, [4]);
    addEnums(file.enumType, file.package, [5]);
  }
  return types;
}

/** `{ subject, typeName, contract: 'CourseEvents.published' }` of every defineEvent in the contracts. */
async function contractEvents() {
  const contracts = await importDist('packages/contracts/dist/index.js');
  const events = [];
  for (const [group, members] of Object.entries(contracts)) {
    if (!group.endsWith('Events')) continue;
    for (const [key, event] of Object.entries(members)) {
      if (typeof event?.subject !== 'string' || !event.schema?.typeName)
        throw new DocsError(`${group}.${key} is not a defined event`);
      events.push({ subject: event.subject, typeName: event.schema.typeName, contract: `${group}.${key}` });
    }
  }
  if (events.length === 0) throw new DocsError('packages/contracts defines no events');
  return events;
}

/** Where each contract (`CourseEvents.published`) is written to an outbox: context → files. */
function producerSites() {
  const sites = new Map();
  const call = /enqueueEvent\(\s*\w+\s*,\s*[\w.]+\s*,\s*(\w+Events\.\w+)/g;
  for (const { name } of subgraphList().filter((s) => s.main)) {
    for (const file of filesUnder(`subgraphs/${name}/src`, ['.ts'])) {
      for (const match of read(file).matchAll(call)) {
        const list = sites.get(match[1]) ?? [];
        if (!list.some((s) => s.file === file)) list.push({ context: name, file });
        sites.set(match[1], list);
      }
    }
  }
  // A service that evaluates flags reports exposures straight to JetStream through the kit's flags
  // client (packages/service-kit/src/flags/client.ts), given the event as `exposureEvent: FlagsEvents.…`.
  const exposures = /exposureEvent:\s*(FlagsEvents\.\w+)/g;
  for (const { name } of subgraphList().filter((s) => s.main)) {
    for (const file of filesUnder(`subgraphs/${name}/src`, ['.ts'])) {
      for (const match of read(file).matchAll(exposures)) {
        const list = sites.get(match[1]) ?? [];
        // Published on flags' subject by another service: the one case where that is the contract.
        if (!list.some((s) => s.context === name)) list.push({ context: name, file, reportsToFlags: true });
        sites.set(match[1], list);
      }
    }
  }
  // The gateway has no outbox: it publishes its own events (usage reports) straight to JetStream.
  const direct = /\.publish\(\s*(GatewayEvents\.\w+)\.subject/g;
  for (const file of filesUnder('gateway/src', ['.ts'])) {
    for (const match of read(file).matchAll(direct)) {
      const list = sites.get(match[1]) ?? [];
      if (!list.some((s) => s.file === file)) list.push({ context: 'gateway', file });
      sites.set(match[1], list);
    }
  }
  return sites;
}

/** Who consumes which subject: subject → [{ service, how }]. */
async function consumersBySubject(subjects) {
  const bySubject = new Map(subjects.map((s) => [s, []]));
  const add = (subject, service, how) => {
    if (!bySubject.has(subject))
      throw new DocsError(`${service} consumes ${subject}, which packages/contracts does not define`);
    bySubject.get(subject).push({ service, how });
  };
  for (const { name } of subgraphList().filter((s) => s.main)) {
    const rel = `subgraphs/${name}/dist/events/consumers.js`;
    if (!fs.existsSync(path.join(ROOT, rel))) continue;
    const { consumers } = await importDist(rel);
    for (const [durable, spec] of Object.entries(consumers ?? {})) {
      for (const handler of spec.handlers)
        add(handler.type.subject, name, `durable consumer ${code(durable)} on ${code(spec.stream)}`);
    }
  }
  // Services with flags follow flag changes as plain subscribers (the kit's flags client, given the
  // event as `changeEvent: FlagsEvents.changed`).
  for (const { name } of subgraphList().filter((s) => s.main)) {
    const given = filesUnder(`subgraphs/${name}/src`, ['.ts']).some((file) =>
      /changeEvent:\s*FlagsEvents\.changed\b/.test(read(file)),
    );
    if (given) add('flags.flag.changed', name, 'flags cache (plain subscriber; packages/service-kit/src/flags/)');
  }
  const { STREAMS } = await importDist('gateway/dist/subscriptions/streams.js');
  for (const [field, stream] of Object.entries(STREAMS))
    add(stream.event.subject, 'gateway', `subscription ${code(field)}`);
  const { INVALIDATIONS } = await importDist('gateway/dist/response-cache/invalidation.js');
  for (const { event } of INVALIDATIONS)
    add(event.subject, 'gateway', 'response-cache invalidation (plain subscriber)');
  const { PARTNER_ACCESS_INVALIDATION } = await importDist('gateway/dist/persisted-documents/partner-access.js');
  add(PARTNER_ACCESS_INVALIDATION.subject, 'gateway', "partner keys' cache invalidation (plain subscriber)");
  // The Rust search subgraph follows two streams, each with a decoder of its own (the subjects it
  // matches: `s if s == <Type>::SUBJECT` arms, or a single `!= <Type>::SUBJECT` guard) and a
  // durable consumer (`pub const <CONST>: &str`, the stream in `pub const <STREAM>: &str`); the
  // events crate maps each message type to its subject.
  const rustSubjects = new Map(
    [...read('rust-subgraphs/events/src/event.rs').matchAll(/::(\w+)\s*=>\s*"([a-z_.]+)"/g)].map((m) => [m[1], m[2]]),
  );
  const searchConsumer = read('rust-subgraphs/search/src/consumer.rs');
  const searchConst = (name) => searchConsumer.match(new RegExp(`pub const ${name}: &str = "([\\w-]+)"`))?.[1];
  for (const [decoder, durableConst, streamConst] of [
    ['event.rs', 'CONSUMER', 'STREAM'],
    ['captions.rs', 'CAPTIONS_CONSUMER', 'CAPTIONS_STREAM'],
  ]) {
    const file = `rust-subgraphs/search/src/${decoder}`;
    const [durable, stream] = [searchConst(durableConst), searchConst(streamConst)];
    const decoded = [...read(file).matchAll(/(?:s if s ==|subject\.as_str\(\) !=) (\w+)::SUBJECT/g)].map((m) => m[1]);
    if (!durable || !stream || decoded.length === 0)
      throw new DocsError(
        `cannot find the search subgraph's consumer (rust-subgraphs/search/src/consumer.rs, ${decoder})`,
      );
    for (const type of decoded) {
      const subject = rustSubjects.get(type);
      if (!subject)
        throw new DocsError(
          `${file} decodes ${type}, which rust-subgraphs/events/src/event.rs does not map to a subject`,
        );
      add(subject, 'search', `durable consumer ${code(durable)} on ${code(stream)}`);
    }
  }
  // The Rust video subgraph's projections: each `(Source::<Variant>, "<subject>")` arm of
  // projection.rs, the variant's durable (`Self::<Variant> => <CONST>`, `pub const <CONST>: &str = "…"`).
  const projection = read('rust-subgraphs/video/src/projection.rs');
  const arms = [...projection.matchAll(/\(Source::(\w+),\s*"([a-z_.]+)"\)/g)];
  if (arms.length === 0)
    throw new DocsError("cannot find the video subgraph's consumers (rust-subgraphs/video/src/projection.rs)");
  for (const [, variant, subject] of arms) {
    const constant = projection.match(new RegExp(`Self::${variant}\\s*=>\\s*([A-Z_]+)\\b`))?.[1];
    const videoDurable = constant && projection.match(new RegExp(`pub const ${constant}: &str = "([\\w-]+)"`))?.[1];
    if (!videoDurable)
      throw new DocsError(`rust-subgraphs/video/src/projection.rs: no durable consumer name for Source::${variant}`);
    add(subject, 'video', `durable consumer ${code(videoDurable)} on ${code(subject.split('.')[0].toUpperCase())}`);
  }
  return bySubject;
}

/**
 * Where a Rust subgraph writes an event to its outbox: a file of rust-subgraphs/<context>/src that
 * calls `outbox::write(` and builds the event's message (`VideoReady {`). Contract → [{ context, file }].
 */
function rustProducerSites(events) {
  const sites = new Map();
  for (const { name } of subgraphList().filter((s) => s.binary)) {
    for (const file of filesUnder(`rust-subgraphs/${name}/src`, ['.rs'])) {
      const source = read(file);
      if (!source.includes('outbox::write(')) continue;
      for (const event of events) {
        const message = event.typeName.split('.').pop();
        if (new RegExp(`\\b${message}\\s*\\{`).test(source))
          sites.set(event.contract, [...(sites.get(event.contract) ?? []), { context: name, file }]);
      }
    }
  }
  return sites;
}

const SUBJECT_PREFIX = /^([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*){2}):\s*/;

function typeLabel(field) {
  const short = field.type.replace(/^coursegraph\.\w+\.v\d+\./, '');
  return `${field.repeated ? 'repeated ' : ''}${code(short)}`;
}

function fieldTable(message) {
  if (message.fields.length === 0) return '_No fields._\n';
  const rows = message.fields.map((f) => `| ${f.number} | ${code(f.name)} | ${typeLabel(f)} | ${cell(f.comment)} |`);
  return ['| # | field | type | notes |', '| --- | --- | --- | --- |', ...rows].join('\n') + '\n';
}

function typeSection(type) {
  const lines = [`#### ${code(type.name)} (${type.kind})`, ''];
  if (type.comment) lines.push(type.comment, '');
  if (type.kind === 'message') lines.push(fieldTable(type));
  else
    lines.push(
      [
        '| value | number | notes |',
        '| --- | --- | --- |',
        ...type.values.map((v) => `| ${code(v.name)} | ${v.number} | ${cell(v.comment)} |`),
      ].join('\n') + '\n',
    );
  return lines.join('\n');
}

/** `producer → consumer` with the subjects that flow that way, in the events' order. */
function pairs(events) {
  const byPair = new Map();
  for (const event of events) {
    for (const producer of event.producers) {
      for (const service of new Set(event.consumers.map((c) => c.service))) {
        const key = `${producer} → ${service}`;
        byPair.set(key, [...(byPair.get(key) ?? []), event.subject]);
      }
    }
  }
  return [...byPair];
}

export async function renderEvents() {
  const files = protoFiles();
  const types = protoTypes(files);
  const events = await contractEvents();
  const sites = producerSites();
  for (const [contract, list] of rustProducerSites(events))
    sites.set(contract, [...(sites.get(contract) ?? []), ...list]);
  const consumers = await consumersBySubject(events.map((e) => e.subject));

  for (const event of events) {
    const type = types.get(event.typeName);
    if (!type) throw new DocsError(`${event.contract} uses ${event.typeName}, which schema/events does not declare`);
    const named = type.comment.match(SUBJECT_PREFIX)?.[1];
    if (named && named !== event.subject)
      throw new DocsError(
        `${type.file}: ${type.name}'s comment names ${named}, but ${event.contract} publishes it as ${event.subject}`,
      );
    const context = event.subject.split('.')[0];
    if (type.package !== `coursegraph.${context}.v1`)
      throw new DocsError(
        `${event.subject} is a ${type.package} message; a context's events live in coursegraph.${context}.v1`,
      );
    event.type = type;
    event.context = context;
    event.sites = sites.get(event.contract) ?? [];
    if (event.sites.length === 0)
      throw new DocsError(
        `nothing in subgraphs/*/src calls enqueueEvent with ${event.contract} (${event.subject}), nor writes it to a Rust subgraph's outbox`,
      );
    const stray = event.sites.find((s) => s.context !== context && !(s.reportsToFlags && context === 'flags'));
    // Its own context, except the exposure reports other services publish on flags' subject.
    event.producers = [...new Set(event.sites.map((s) => s.context))];
    if (stray) throw new DocsError(`${stray.file} publishes ${event.subject}, which only ${context} may publish`);
    event.consumers = consumers.get(event.subject);
  }

  const byContext = new Map();
  for (const event of events) byContext.set(event.context, [...(byContext.get(event.context) ?? []), event]);
  const consumerNames = (event) => [...new Set(event.consumers.map((c) => c.service))].join(', ') || '—';

  const out = [
    '# Event catalogue',
    '',
    '<!-- Generated by `npm run docs` (scripts/docs.mjs events) from schema/events/**/*.proto, packages/contracts/src/index.ts',
    '     and the producers and consumers in the code. Do not edit: `npm test` fails when this file is stale. -->',
    '',
    'Every event the platform publishes. A producer writes an event to its own `outbox_events` table in the',
    'transaction that makes the change; its relay publishes it to the JetStream stream named after the context',
    '(`<CONTEXT>`, subjects `<context>.>`), with `Nats-Msg-Id` = the event id. The envelope travels in NATS',
    'headers (`ce-type` = the subject, `ce-source` = the context, `ce-time`, `traceparent`); the payload is the',
    'protobuf message below. Durable consumers apply each event once (a `processed_events` row in their own',
    'transaction) and dead-letter it after 5 failed deliveries; see [architecture](architecture.md#events) and',
    '[failure modes](failure-modes.md).',
    '',
    'Fields are proto3: every field is optional on the wire and reads as its zero value when absent. Times are',
    'RFC 3339 UTC strings. Add fields with new numbers; never reuse or renumber one (`buf breaking` rules in',
    '`schema/events/buf.yaml`).',
    '',
    '## Summary',
    '',
    '| subject | message | stream | producer | consumers |',
    '| --- | --- | --- | --- | --- |',
    ...events.map(
      (e) =>
        `| ${code(e.subject)} | ${code(e.type.name)} | ${code(e.context.toUpperCase())} | ${e.producers.join(', ')} | ${consumerNames(e)} |`,
    ),
    '',
    '## Who listens to whom',
    '',
    'Every pair of services that events connect, producer first. A pair not listed exchanges no events.',
    '',
    '| producer → consumer | subjects |',
    '| --- | --- |',
    ...pairs(events).map(([pair, subjects]) => `| ${pair} | ${subjects.map(code).join(', ')} |`),
    '',
  ];
  for (const [context, list] of byContext) {
    const pkg = list[0].type.package;
    const file = files.find((f) => f.package === pkg);
    const pkgComment = commentsOf(file).get('2') ?? '';
    out.push(
      `## ${context}`,
      '',
      `Stream ${code(context.toUpperCase())} · package ${code(pkg)} · ${code(`schema/events/${file.name}`)}`,
      '',
    );
    if (pkgComment) out.push(pkgComment, '');
    for (const event of list) {
      const description = event.type.comment.replace(SUBJECT_PREFIX, '');
      out.push(`### ${code(event.subject)}`, '');
      out.push(`Message ${code(event.type.name)} · contract ${code(event.contract)}`, '');
      if (description) out.push(description[0].toUpperCase() + description.slice(1), '');
      out.push(`Produced by ${event.producers.join(', ')}: ${event.sites.map((s) => code(s.file)).join(', ')}.`, '');
      if (event.consumers.length === 0) out.push('Consumed by: nobody yet.', '');
      else out.push('Consumed by:', '', ...event.consumers.map((c) => `- ${c.service}: ${c.how}`), '');
      out.push(fieldTable(event.type));
    }
    const eventTypes = new Set(list.map((e) => e.type.fullName));
    const others = [...types.values()].filter((t) => t.package === pkg && !eventTypes.has(t.fullName));
    if (others.length > 0) {
      out.push(`### Types the ${context} events use`, '');
      for (const type of others) out.push(typeSection(type));
    }
  }
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

// ---------------------------------------------------------------------------------------------
// Configuration table

/** The TypeScript services, in the order their names are listed. */
const TS_SERVICES = () => [
  'gateway',
  ...subgraphList()
    .filter((s) => s.main)
    .map((s) => s.name),
];

/**
 * Settings the kit reads outside a service's config spec, where it uses them: the streams' retention
 * (every TypeScript service declares the streams it publishes to or reads: relay, consumers, the
 * gateway's subscriptions) and the outbox's limits (every context that publishes; the events CLI).
 */
const KIT_SPECS = [
  { export: 'streamRetentionSettings', usedBy: () => TS_SERVICES() },
  {
    export: 'outboxSettings',
    usedBy: () => [...new Set([...producerSites().values()].flat().map((s) => s.context))],
    scripts: { file: 'scripts/lib/events-commands.mjs', reads: 'outboxSettingsFromEnv' },
  },
];

/**
 * What the hand-written table said beyond a spec's `doc`, kept here (checked: the variable exists).
 * A longer explanation belongs in the spec's doc; these are the few that point at the README's prose.
 */
const NOTES = {
  COURSEGRAPH_MODE:
    '`production` turns off introspection for non-admins and applies the production profile (see "Production profile" below): every service refuses to start on demo settings',
  LOG_LEVEL: '`silent` too',
  LIMIT_MAX_COST_ANONYMOUS: 'search counts every caller as anonymous: its results are public',
  ACCESS_TOKEN_TTL_SECONDS: 'at most 3600 (verifiers refuse older tokens)',
  INTERNAL_SIGNING_SECRET: 'at least 32 characters',
};

/**
 * Variables that no config spec holds, declared here and checked against the code: each must still
 * be read where `where` says (a name with `<…>` stands for a family, checked by the fragment `read`).
 */
const DECLARED = [
  {
    env: 'POSTGRES_ADMIN_URL',
    first: true,
    default: 'postgres://postgres:postgres@127.0.0.1:5432/postgres',
    usedBy: 'scripts',
    doc: 'superuser for roles, schemas and databases',
    where: 'scripts/lib/env.mjs',
  },
  {
    env: 'POSTGRES_DB',
    first: true,
    default: 'coursegraph',
    usedBy: 'scripts',
    doc: 'the platform database (`coursegraph_test` under `npm test`)',
    where: 'scripts/lib/env.mjs',
  },
  {
    env: '<CONTEXT>_DATABASE_URL',
    first: true,
    default: 'postgres://cg_<context>:<<CONTEXT>_DB_PASSWORD>@<admin host>/<POSTGRES_DB>',
    usedBy: 'scripts',
    doc: "a context's own role, for its service, migrations and seeds (every context in scripts/lib/env.mjs, learning and ai too)",
    where: 'scripts/lib/env.mjs',
    read: '_DATABASE_URL`',
  },
  {
    env: '<CONTEXT>_DB_PASSWORD',
    first: true,
    default: 'cg_<context>_dev',
    usedBy: 'scripts',
    doc: "password of the context's role",
    where: 'scripts/lib/env.mjs',
    read: '_DB_PASSWORD`',
  },
  {
    env: 'REDIS_URL',
    default: 'redis://127.0.0.1:6379',
    usedBy: 'scripts',
    doc: 'the password generated in `<COURSEGRAPH_DATA_DIR>/credentials.json` is added unless the URL has one; `redis://127.0.0.1:6379/1` under `npm test`',
    where: 'scripts/lib/env.mjs',
  },
  {
    env: 'NATS_URL',
    default: 'nats://127.0.0.1:4222',
    usedBy: 'scripts',
    doc: 'each service is given its own generated NATS user (scripts `operator`) unless the URL has credentials; under `npm test`, `TEST_NATS_URL`',
    where: 'scripts/lib/env.mjs',
  },
  {
    env: 'NATS_MAX_STORE_MB',
    default: '262144',
    usedBy: 'scripts',
    doc: "JetStream's storage ceiling on the NATS servers `npm start` and `npm test` run; each stream's own limit (EVENT_STREAM_MAX_MB) bounds what is written. Without one, NATS derives it from the disk's free space and refuses streams on a fuller disk",
    where: 'scripts/lib/nats-config.mjs',
  },
  {
    env: 'TEST_POSTGRES_DB',
    default: 'coursegraph_test',
    usedBy: 'scripts',
    doc: 'the database `npm test` uses',
    where: 'scripts/lib/test-env.mjs',
  },
  {
    env: 'TEST_REDIS_URL',
    default: 'redis://127.0.0.1:6379/1',
    usedBy: 'scripts',
    doc: 'the Redis database `npm test` uses',
    where: 'scripts/lib/test-env.mjs',
  },
  {
    env: 'TEST_PARALLEL_SLICES',
    default: '',
    usedBy: 'scripts',
    doc: '`1`: `npm test` runs the end-to-end suites and the other files side by side (faster; on two cores, timing-sensitive tests may fail) instead of one after the other',
    where: 'scripts/test.mjs',
  },
  {
    env: 'TEST_E2E_REDIS_URL',
    default: 'redis://127.0.0.1:6379/2',
    usedBy: 'scripts',
    doc: 'the Redis database the end-to-end suites use in `npm test`, which run beside the other tests',
    where: 'scripts/test.mjs',
  },
  {
    env: 'TEST_NATS_URL',
    default: 'nats://127.0.0.1:4223',
    usedBy: 'scripts',
    doc: "`npm test`'s own NATS server (its own JetStream store)",
    where: 'scripts/lib/test-env.mjs',
  },
  {
    env: 'COURSEGRAPH_DATA_DIR',
    first: true,
    default: '.data',
    usedBy: 'scripts',
    doc: "service data, logs, mail, generated credentials (PostgreSQL's go to `/var/lib/coursegraph/<hash>` when a directory above the clone is private, e.g. `mktemp -d`: the postgres OS user must pass through them)",
    where: 'scripts/lib/env.mjs',
  },
  { env: 'SMTP_HOST', usedBy: 'scripts', doc: 'set: `npm start` runs no mail sink', where: 'scripts/start.mjs' },
  {
    env: 'SMTP_PORT',
    default: 2525,
    usedBy: 'scripts',
    doc: 'the port the mail sink listens on',
    where: 'scripts/mail-sink.mjs',
  },
  {
    env: 'START_PROMETHEUS',
    usedBy: 'scripts',
    doc: "`1`: `npm start` also runs Prometheus (Debian's package, installed when missing) with deploy/prometheus/prometheus.yml: every service's /metrics and the SLO alerts of docs/slo.md",
    where: 'scripts/start.mjs',
  },
  {
    env: 'PROMETHEUS_PORT',
    default: 9090,
    usedBy: 'scripts',
    doc: 'the port of the Prometheus `npm start` runs (data in `<COURSEGRAPH_DATA_DIR>/prometheus`)',
    where: 'scripts/lib/stack/prometheus.mjs',
  },
  {
    env: 'START_TRACING',
    usedBy: 'scripts',
    doc: '`1`: `npm start` also runs Jaeger v2 (built once from the Go module proxy into `<COURSEGRAPH_DATA_DIR>/tools`) with deploy/jaeger/config.yaml, and every service exports its traces to it (docs/observability.md)',
    where: 'scripts/start.mjs',
  },
  {
    env: 'JAEGER_OTLP_PORT',
    default: 4318,
    usedBy: 'scripts',
    doc: "the OTLP/HTTP port of the Jaeger `npm start` runs (the services' `OTEL_EXPORTER_OTLP_ENDPOINT`)",
    where: 'scripts/lib/stack/jaeger.mjs',
  },
  {
    env: 'JAEGER_UI_PORT',
    default: 16686,
    usedBy: 'scripts',
    doc: 'the port of the UI and query API of the Jaeger `npm start` runs',
    where: 'scripts/lib/stack/jaeger.mjs',
  },
  {
    env: 'SEARCH_INDEX_DIR',
    default: '.data/search-index-<POSTGRES_DB>',
    usedBy: 'scripts',
    doc: 'what `npm start` and `scripts/replay.mjs search` give the search subgraph',
    where: 'scripts/replay.mjs',
  },
  {
    env: 'VIDEO_STORAGE_DIR',
    default: '.data/video-<POSTGRES_DB>',
    usedBy: 'scripts',
    doc: 'what `npm start` gives the video subgraph (a folder per platform database, as for search)',
    where: 'scripts/lib/platform.mjs',
  },
  {
    env: 'SUBGRAPH_<NAME>_URL',
    default: 'the URL in the supergraph',
    usedBy: 'gateway',
    doc: 'where the gateway reaches a subgraph',
    where: 'gateway/src/config.ts',
    read: 'SUBGRAPH_${',
  },
  {
    env: 'SEED_INSTRUCTORS',
    default: 20,
    usedBy: 'seeds',
    doc: 'demo instructors (scale up for benchmarks)',
    where: 'subgraphs/identity/src/seed.ts',
  },
  {
    env: 'SEED_LEARNERS',
    default: 2000,
    usedBy: 'seeds',
    doc: 'demo learners',
    where: 'subgraphs/identity/src/seed.ts',
  },
  { env: 'SEED_COURSES', default: 200, usedBy: 'seeds', doc: 'demo courses', where: 'subgraphs/course/src/seed.ts' },
  {
    env: 'SEED_LEARNING_COURSES',
    default: 8,
    usedBy: 'seeds',
    doc: 'the first demo courses given learning material (concepts, an item bank, quizzes on their QUIZ lessons, flashcard notes); 0: none',
    where: 'scripts/seed.mjs',
  },
  {
    env: 'SEED_BUYER_SHARE',
    default: 0.35,
    usedBy: 'seeds',
    doc: 'share of demo learners who buy a paid course',
    where: 'subgraphs/payment/src/seed-orders.ts',
  },
];

/** Variables scripts pass between their own processes or take from the system: not settings. */
const NOT_SETTINGS = new Set([
  'PATH',
  'HOME',
  'SEED_INSTRUCTOR_IDS',
  'SEED_LEARNER_IDS',
  'SEED_EXPECTED_COURSES',
  'SEED_LEARNING_COURSES_FILE',
]);

/** Where the scripts' and seeds' variables are read, scanned for names this file must know. */
const SCANNED = () => [
  ...filesUnder('scripts', ['.mjs']),
  ...subgraphList()
    .filter((s) => s.main)
    .flatMap((s) => filesUnder(`subgraphs/${s.name}/src`, ['.ts']).filter((f) => /\/seed[^/]*\.ts$/.test(f))),
];
const ENV_READ = /(?:\benv\(\s*['"`]|process\.env\.|process\.env\[\s*['"`]|\benv\.)([A-Z][A-Z0-9_]+)\b/g;

/** The Rust subgraphs (a `binary` in schema/subgraphs.json), each configured by its src/config.rs. */
const RUST_SERVICES = () =>
  subgraphList()
    .filter((s) => s.binary)
    .map((s) => s.name);

/** A Rust subgraph's settings: the `NAME`: doc. Default X. lines of the Config struct in `file`. */
function rustSettings(file = 'rust-subgraphs/search/src/config.rs') {
  const source = read(file);
  const docs = new Map();
  let current = null;
  for (const line of source.split('\n')) {
    const m = line.match(/^\s*\/\/\/\s?(.*)$/);
    if (!m) {
      current = null;
      continue;
    }
    const head = m[1].match(/^`([A-Z][A-Z0-9_]+)`(?: and `[A-Z_*]+`)?:\s*(.*)$/);
    if (head) {
      current = { env: head[1], text: head[2] };
      docs.set(current.env, current);
    } else if (current) current.text += ` ${m[1]}`;
  }
  const settings = [];
  for (const { env, text } of docs.values()) {
    const def = text.match(/Default `?([^`]+?)`?\.(?:\s|$)/);
    settings.push({
      env,
      // "Default none." (an empty list): shown as the TypeScript specs' empty defaults are.
      default: def ? (def[1] === 'none' ? '' : def[1]) : undefined,
      doc: text
        .replace(/\s*Default `?[^`]+?`?\.(?:\s|$)/, ' ')
        .replace(/\s+/g, ' ')
        .trim()
        .replace(/\.$/, ''),
    });
  }
  // Every variable config.rs reads is documented on the struct, or is one of the operation limits,
  // which share their names and defaults with the TypeScript services (limits.rs).
  // Any variable-like string literal outside the tests: the reading helpers differ per subgraph.
  const body = source.split(/^#\[cfg\(test\)\]/m)[0];
  const readNames = [...body.matchAll(/"([A-Z][A-Z0-9]*_[A-Z0-9_]+)"/g)].map((m) => m[1]);
  const extra = [...new Set(readNames.filter((n) => !docs.has(n)))];
  const undocumented = extra.filter((n) => !n.startsWith('LIMIT_') && n !== 'OPERATION_LIMITS');
  if (undocumented.length > 0)
    throw new DocsError(`${file} reads ${undocumented.join(', ')} without a \`NAME\`: doc line on Config`);
  return {
    settings: settings.filter((s) => !s.env.startsWith('LIMIT_') && s.env !== 'OPERATION_LIMITS'),
    sharedNames: [
      ...new Set([...extra, ...docs.keys()].filter((n) => n.startsWith('LIMIT_') || n === 'OPERATION_LIMITS')),
    ],
    // "`OPERATION_LIMITS` and `LIMIT_*`": the kit's whole family of operation limits, read by name there.
    limitFamily: /`OPERATION_LIMITS` and `LIMIT_\*`/.test(source),
  };
}

/** A config spec: an exported object whose every value has `env`, `parse` and `doc`. */
function specsIn(module) {
  return Object.entries(module).filter(
    ([, value]) =>
      value &&
      typeof value === 'object' &&
      Object.keys(value).length > 0 &&
      Object.values(value).every(
        (s) => s && typeof s.env === 'string' && typeof s.parse === 'function' && typeof s.doc === 'string',
      ),
  );
}

function formatDefault(value, setting) {
  if (value === undefined) return 'required';
  if (setting?.formatDefault) return code(setting.formatDefault(value));
  if (typeof value === 'object' && !Array.isArray(value)) {
    // A default kept parsed (a BlockList, ...): shown as empty when it is what an empty value parses to.
    let empty;
    try {
      empty = setting?.parse('');
    } catch {
      empty = undefined;
    }
    if (empty !== undefined && empty?.constructor === value.constructor && inspect(empty) === inspect(value))
      return '—';
    throw new DocsError(`cannot show the default of ${setting?.env}: ${inspect(value)}`);
  }
  if (value === '' || (Array.isArray(value) && value.length === 0)) return '—';
  if (Array.isArray(value)) return code(value.join(','));
  let text = String(value);
  // Paths a spec computes from its own location: shown relative to the clone.
  if (path.isAbsolute(text) && text.startsWith(ROOT)) text = path.relative(ROOT, text);
  return code(text);
}

export async function configRows() {
  const rows = new Map();
  const entry = (env) => {
    if (!rows.has(env)) rows.set(env, { env, uses: [] });
    return rows.get(env);
  };
  // A declared variable without a default (a switch such as SMTP_HOST for the scripts) shows none.
  const use = (env, user, value, doc, kind, setting) =>
    entry(env).uses.push({
      user,
      default: kind === 'declared' && value === undefined ? null : formatDefault(value, setting),
      doc,
      kind,
    });

  // Order of the rows: what a newcomer sets first (scripts' platform settings), then the kit's
  // common settings, then each service's own; scripts' remaining rows last.
  const kit = await importDist('packages/service-kit/dist/index.js');
  for (const d of DECLARED.filter((d) => d.first)) entry(d.env);
  for (const setting of [...Object.values(kit.commonSettings), ...Object.values(kit.jwksSetting)]) entry(setting.env);

  const tsServices = TS_SERVICES();
  for (const service of tsServices) {
    const rel = service === 'gateway' ? 'gateway/dist/config.js' : `subgraphs/${service}/dist/config.js`;
    const specs = specsIn(await importDist(rel));
    if (specs.length !== 1)
      throw new DocsError(
        `${rel} should export exactly one config spec; found ${specs.map(([n]) => n).join(', ') || 'none'}`,
      );
    for (const setting of Object.values(specs[0][1]))
      use(setting.env, service, setting.default, setting.doc, 'spec', setting);
  }
  for (const { export: name, usedBy, scripts } of KIT_SPECS) {
    const spec = kit[name];
    if (!spec) throw new DocsError(`@coursegraph/service-kit no longer exports ${name}`);
    if (scripts && !read(scripts.file).includes(scripts.reads))
      throw new DocsError(`${scripts.file} no longer calls ${scripts.reads}`);
    const users = [...usedBy(), ...(scripts ? ['scripts'] : [])];
    for (const setting of Object.values(spec))
      for (const user of users) use(setting.env, user, setting.default, setting.doc, 'spec', setting);
  }
  for (const service of RUST_SERVICES()) {
    const rust = rustSettings(`rust-subgraphs/${service}/src/config.rs`);
    for (const s of rust.settings) use(s.env, service, s.default, s.doc, 'rust');
    const shared = new Set(rust.sharedNames);
    if (rust.limitFamily) for (const env of rows.keys()) if (env.startsWith('LIMIT_')) shared.add(env);
    for (const env of shared) {
      if (!rows.has(env)) throw new DocsError(`${service} reads ${env}, which no TypeScript spec declares`);
      rows.get(env).uses.push({ user: service, default: null, doc: '', kind: 'shared' });
    }
  }
  const { SUPERVISOR_SETTINGS } = await import(pathToFileURL(path.join(ROOT, 'scripts/lib/supervisor.mjs')).href);
  for (const s of SUPERVISOR_SETTINGS) use(s.name, '`npm start` (supervisor)', s.default, s.doc, 'spec');
  for (const d of DECLARED) {
    const source = read(d.where);
    if (!source.includes(d.read ?? d.env))
      throw new DocsError(`${d.env} is declared in scripts/docs.mjs as read by ${d.where}, which no longer reads it`);
    use(d.env, d.usedBy, d.default, d.doc, 'declared');
  }

  // Every variable the scripts and seeds read is in the table (or is not a setting).
  const unknown = new Map();
  for (const file of SCANNED()) {
    for (const m of read(file).matchAll(ENV_READ)) {
      if (!rows.has(m[1]) && !NOT_SETTINGS.has(m[1]) && file !== 'scripts/docs.mjs') unknown.set(m[1], file);
    }
  }
  if (unknown.size > 0) {
    throw new DocsError(
      `read but declared nowhere (add them to a config spec, or to DECLARED in scripts/docs.mjs): ${[...unknown].map(([n, f]) => `${n} (${f})`).join(', ')}`,
    );
  }
  for (const row of rows.values())
    if (row.uses.length === 0)
      throw new DocsError(`${row.env} is in the kit's common settings but no service reads it`);
  for (const env of Object.keys(NOTES))
    if (!rows.has(env)) throw new DocsError(`NOTES in scripts/docs.mjs names ${env}, which nothing reads`);
  return { rows: [...rows.values()], tsServices };
}

function usedByLabel(users, tsServices) {
  const set = new Set(users);
  const rust = RUST_SERVICES();
  const labels = [];
  const everyTs = tsServices.every((s) => set.has(s));
  const everyRust = rust.every((s) => set.has(s));
  if (everyTs && everyRust) labels.push('every service');
  else if (everyTs) labels.push('every TypeScript service');
  for (const user of tsServices) if (set.has(user) && !everyTs) labels.push(user);
  for (const user of rust) if (set.has(user) && !(everyTs && everyRust)) labels.push(user);
  for (const user of set) if (![...tsServices, ...rust].includes(user)) labels.push(user);
  return labels.join(', ');
}

export async function renderConfigTable() {
  const { rows, tsServices } = await configRows();
  const lines = ['| variable | default | used by | what it does |', '| --- | --- | --- | --- |'];
  for (const row of rows) {
    const withDefault = row.uses.filter((u) => u.default !== null);
    const defaults = new Map();
    for (const u of withDefault) defaults.set(u.default, [...(defaults.get(u.default) ?? []), u.user]);
    const defaultText =
      defaults.size === 1
        ? [...defaults.keys()][0]
        : [...defaults].map(([value, users]) => `${value} (${users.join(', ')})`).join(' · ');
    // The description a service's spec gives; the search subgraph's when it alone reads the variable;
    // what the scripts add, after it.
    const primary = row.uses.find((u) => u.kind === 'spec')?.doc ?? row.uses.find((u) => u.kind === 'rust')?.doc ?? '';
    const notes = row.uses
      .filter((u) => u.kind === 'declared' && u.doc && u.doc !== primary)
      .map((u) => (primary ? `${u.user}: ${u.doc}` : u.doc));
    const doc = [primary, NOTES[row.env], ...notes].filter(Boolean).join('; ');
    lines.push(
      `| ${code(row.env)} | ${cell(defaultText)} | ${cell(
        usedByLabel(
          row.uses.map((u) => u.user),
          tsServices,
        ),
      )} | ${cell(doc)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function replaceBetweenMarkers(text, body) {
  const begin = text.indexOf(CONFIG_BEGIN);
  const end = text.indexOf(CONFIG_END);
  if (begin < 0 || end < begin) throw new DocsError(`${README} has no ${CONFIG_BEGIN} … ${CONFIG_END} markers`);
  return `${text.slice(0, begin + CONFIG_BEGIN.length)}\n${body}${text.slice(end)}`;
}

// ---------------------------------------------------------------------------------------------

const USAGE = 'usage: node scripts/docs.mjs [events|config] [--check] [--against <dir>]';

/** Each target: the file it owns and its content, given that file's current text (null: none). */
const TARGETS = {
  events: { file: EVENTS_DOC, render: async () => renderEvents() },
  config: {
    file: README,
    render: async (current) => {
      if (current === null) throw new DocsError(`${README} not found`);
      return replaceBetweenMarkers(current, await renderConfigTable());
    },
  },
};

async function main(argv) {
  const args = [...argv];
  const check = args.includes('--check');
  // --against <dir>: the tree whose files are checked or written (default: this clone), so a test can
  // show that a stale copy fails without touching the clone.
  const at = args.indexOf('--against');
  const base = at >= 0 ? path.resolve(args[at + 1] ?? '') : ROOT;
  if (at >= 0 && (!args[at + 1] || !fs.existsSync(base)))
    throw new DocsError(`--against needs an existing folder; ${USAGE}`);
  if (at >= 0) args.splice(at, 2);
  const names = args.filter((a) => a !== '--check');
  const unknown = names.filter((n) => !TARGETS[n]);
  if (unknown.length > 0)
    throw new DocsError(`unknown target ${unknown.map((n) => JSON.stringify(n)).join(', ')}; ${USAGE}`);
  const stale = [];
  for (const name of names.length > 0 ? names : Object.keys(TARGETS)) {
    const { file, render } = TARGETS[name];
    const abs = path.join(base, file);
    const current = fs.existsSync(abs) ? fs.readFileSync(abs, 'utf8') : null;
    const want = await render(current);
    if (current === want) continue;
    if (check) stale.push(`${file} (${name})`);
    else {
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fs.writeFileSync(abs, want);
      console.log(`docs: wrote ${file}`);
    }
  }
  if (stale.length > 0) throw new DocsError(`stale: ${stale.join(', ')}; run npm run docs`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    await main(process.argv.slice(2));
    // Imported service modules may hold handles (Prisma clients); the work is done.
    process.exit(0);
  } catch (err) {
    if (!(err instanceof DocsError)) throw err;
    console.error(`docs: ${err.message}`);
    process.exit(1);
  }
}
