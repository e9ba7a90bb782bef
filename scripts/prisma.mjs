#!/usr/bin/env node
// The offline Prisma workflow, one context at a time or all of them (docs/adr/0005: Prisma 6.19 over
// the Wasm schema engine and @prisma/adapter-pg; `migrate dev` does not work here, so a migration is
// written by `migrate diff` and applied by `migrate deploy`).
//
//   node scripts/prisma.mjs generate                  Prisma clients for every context that has a generator
//   node scripts/prisma.mjs bootstrap                 database, one role + schema per context (superuser)
//   node scripts/prisma.mjs deploy                    apply pending migrations of every context
//   node scripts/prisma.mjs deploy <ctx> [<migration folder>]   of one context (up to that migration)
//   node scripts/prisma.mjs new-migration <ctx> <name>  write the SQL for an edit of schema.prisma
//   node scripts/prisma.mjs check                     fail when a schema.prisma has no migration
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, CONTEXTS, contextDatabaseUrl, databaseName, postgresAdminUrl } from './lib/env.mjs';

const prismaBin = path.join(ROOT, 'node_modules/.bin/prisma');

/** Contexts that have a Prisma schema (the others only get a role and an empty schema). */
export function prismaContexts() {
  return CONTEXTS.filter((c) => fs.existsSync(path.join(ROOT, 'prisma', c, 'schema.prisma')));
}

/**
 * Whether a context's schema.prisma declares a client generator. A context served by a Rust subgraph
 * (video) reads its tables with SQL and declares none: Prisma owns only its schema and migrations.
 */
const hasGenerator = (context) =>
  /^\s*generator\s+\w+\s*\{/m.test(fs.readFileSync(path.join(ROOT, 'prisma', context, 'schema.prisma'), 'utf8'));

/** Contexts that get a Prisma client (`generate` on a schema without a generator has nothing to write). */
export const clientContexts = () => prismaContexts().filter(hasGenerator);

/**
 * Runs the Prisma CLI for one context; with `capture`, returns stdout and shows output only on failure.
 * `config`: another prisma.config.ts than the context's own (see partialConfig).
 */
function prisma(context, args, { capture = false, database, config } = {}) {
  const envName = `${context.toUpperCase()}_DATABASE_URL`;
  // The CLI takes its engine type from the generator block; without one it wants the native query
  // engine and tries to download it, which fails offline. `client` is what every generator here says.
  const engine = hasGenerator(context) ? {} : { PRISMA_CLIENT_ENGINE_TYPE: 'client' };
  try {
    return execFileSync(
      prismaBin,
      [...args, '--config', config ?? path.join(ROOT, 'prisma', context, 'prisma.config.ts')],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          ...engine,
          [envName]: contextDatabaseUrl(context, database),
          PRISMA_HIDE_UPDATE_MESSAGE: '1',
        },
        stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit',
        encoding: 'utf8',
      },
    );
  } catch (err) {
    if (capture) process.stderr.write(`${err.stdout ?? ''}${err.stderr ?? ''}`);
    throw new Error(`prisma ${args.join(' ')} failed for ${context}`);
  }
}

/** Prisma clients for the TypeScript contexts; video has no generator (its Rust subgraph uses SQL), so it is skipped. */
export function generate() {
  for (const context of clientContexts()) prisma(context, ['generate', '--no-hints'], { capture: true });
  console.log(`prisma: generated clients for ${clientContexts().join(', ')}`);
}

const ident = (name) => `"${name.replace(/"/g, '""')}"`;
const literal = (value) => `'${value.replace(/'/g, "''")}'`;

/**
 * Creates the platform database and, per context, a login role that owns exactly one schema.
 * Nobody else gets USAGE on that schema, so a context's role cannot read another's tables.
 * Idempotent: safe on every start; passwords are re-set to the configured ones. Roles belong to the
 * whole server, so parallel callers (test files, benchmarks) take turns: two `alter role` of the
 * same role at once fail with "tuple concurrently updated".
 */
export async function bootstrap({ database = databaseName() } = {}) {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: postgresAdminUrl() });
  await admin.connect();
  try {
    // Held until admin's session ends (the finally below).
    await admin.query("select pg_advisory_lock(hashtext('coursegraph: bootstrap'))");
    const exists = await admin.query('select 1 from pg_database where datname = $1', [database]);
    if (exists.rowCount === 0) await admin.query(`create database ${ident(database)}`);
    await bootstrapRoles(pg, database);
  } finally {
    await admin.end();
  }
}

async function bootstrapRoles(pg, db) {
  const adminUrl = new URL(postgresAdminUrl());
  adminUrl.pathname = `/${db}`;
  const client = new pg.Client({ connectionString: adminUrl.toString() });
  await client.connect();
  try {
    await client.query(`revoke all on database ${ident(db)} from public`);
    await client.query('revoke create on schema public from public');
    for (const context of CONTEXTS) {
      const url = new URL(contextDatabaseUrl(context, db));
      const role = decodeURIComponent(url.username);
      const password = decodeURIComponent(url.password);
      const found = await client.query('select 1 from pg_roles where rolname = $1', [role]);
      const verb = found.rowCount === 0 ? 'create' : 'alter';
      await client.query(
        `${verb} role ${ident(role)} login nosuperuser nocreatedb nocreaterole password ${literal(password)}`,
      );
      await client.query(`grant connect on database ${ident(db)} to ${ident(role)}`);
      await client.query(`create schema if not exists ${ident(context)} authorization ${ident(role)}`);
      await client.query(`alter schema ${ident(context)} owner to ${ident(role)}`);
      await client.query(`revoke all on schema ${ident(context)} from public`);
      await client.query(`alter role ${ident(role)} in database ${ident(db)} set search_path = ${ident(context)}`);
    }
  } finally {
    await client.end();
  }
}

/** A context's migration folders, oldest first. */
export function migrationNames(context) {
  const dir = path.join(ROOT, 'prisma', context, 'migrations');
  return fs
    .readdirSync(dir)
    .filter((name) => fs.existsSync(path.join(dir, name, 'migration.sql')))
    .sort();
}

/** The migrations of `context` that `until` (see deploy) lets through. */
function migrationsUntil(context, until = {}) {
  const names = migrationNames(context);
  const last = until[context];
  if (last === undefined) return names;
  if (!names.includes(last)) throw new Error(`no migration ${last} in prisma/${context}/migrations`);
  return names.slice(0, names.indexOf(last) + 1);
}

/**
 * A prisma.config.ts for `context` that shows Prisma only `names` of its migrations (Prisma applies
 * every folder it sees), in a directory of its own that the caller removes.
 */
function partialConfig(context, names) {
  const source = path.join(ROOT, 'prisma', context);
  fs.mkdirSync(path.join(ROOT, '.data'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(ROOT, '.data', `prisma-${context}-`));
  fs.copyFileSync(path.join(source, 'schema.prisma'), path.join(dir, 'schema.prisma'));
  for (const name of [...names, 'migration_lock.toml'])
    fs.cpSync(path.join(source, 'migrations', name), path.join(dir, 'migrations', name), { recursive: true });
  const shared = JSON.stringify(path.join(ROOT, 'prisma', 'context-config.ts'));
  fs.writeFileSync(
    path.join(dir, 'prisma.config.ts'),
    `import { contextPrismaConfig } from ${shared};\nexport default contextPrismaConfig(${JSON.stringify(context)}, import.meta.dirname);\n`,
  );
  return path.join(dir, 'prisma.config.ts');
}

/**
 * Applies the pending migrations of every context (or of `contexts`). `until` ({ course: '<migration
 * folder>' }) stops a context at that migration: the zero-downtime migration benchmark applies a
 * change step by step.
 */
export function deploy({ quiet = false, database, contexts = prismaContexts(), until = {} } = {}) {
  const unknown = [...contexts, ...Object.keys(until)].filter((c) => !prismaContexts().includes(c));
  if (unknown.length > 0) throw new Error(`no prisma/${unknown[0]}/schema.prisma`);
  for (const context of contexts) {
    const config = until[context] ? partialConfig(context, migrationsUntil(context, until)) : undefined;
    try {
      prisma(context, ['migrate', 'deploy'], { capture: quiet, database, config });
    } finally {
      if (config) fs.rmSync(path.dirname(config), { recursive: true, force: true });
    }
  }
}

/** What the migrations and the bootstrap are: a template made from other ones is out of date. */
function migrationsFingerprint(until) {
  const hash = createHash('sha256').update(fs.readFileSync(fileURLToPath(import.meta.url)));
  for (const context of prismaContexts()) {
    const dir = path.join(ROOT, 'prisma', context, 'migrations');
    for (const name of migrationsUntil(context, until))
      hash.update(`${context}/${name}\n`).update(fs.readFileSync(path.join(dir, name, 'migration.sql')));
  }
  return hash.digest('hex');
}

/**
 * Makes `database` anew (dropped if it exists) with every migration applied, as a copy of a template
 * database that is bootstrapped and migrated only when the migrations change: PostgreSQL copies a
 * database in well under a second, while `migrate deploy` of every context takes about a minute here.
 * The template's comment holds the fingerprint of the migrations it was made from. An advisory lock
 * keeps parallel callers (test files) from migrating or copying the template at the same time.
 * `until` (see deploy) leaves later migrations out; such a database needs a `template` of its own.
 */
export async function freshMigratedDatabase(database, { template = `${databaseName()}_template`, until } = {}) {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: postgresAdminUrl() });
  await admin.connect();
  try {
    await admin.query("select pg_advisory_lock(hashtext('coursegraph: migrated template'))");
    const fingerprint = migrationsFingerprint(until);
    const current = await admin.query(
      "select shobj_description(oid, 'pg_database') as fingerprint from pg_database where datname = $1",
      [template],
    );
    if (current.rows[0]?.fingerprint !== fingerprint) {
      await admin.query(`drop database if exists ${ident(template)} with (force)`);
      await bootstrap({ database: template });
      deploy({ quiet: true, database: template, until });
      await admin.query(`comment on database ${ident(template)} is ${literal(fingerprint)}`);
    }
    await admin.query(`drop database if exists ${ident(database)} with (force)`);
    await admin.query(`create database ${ident(database)} template ${ident(template)}`);
  } finally {
    await admin.end(); // ends the session, and with it the advisory lock
  }
  // A copy takes the template's schemas and their owners but not its database-level grants.
  await bootstrap({ database });
}

/** The datamodel as of the latest migration, kept beside the migrations to diff against. */
const snapshotPath = (context) => path.join(ROOT, 'prisma', context, 'migrations', 'schema.prisma.snapshot');

/**
 * Writes prisma/<context>/migrations/<timestamp>_<name>/migration.sql: the SQL from the datamodel
 * of the latest migration (its snapshot) to the edited schema.prisma. Fully offline: Prisma 6.19
 * cannot diff against a live database through a driver adapter.
 */
export function newMigration(context, name) {
  if (!prismaContexts().includes(context)) throw new Error(`no prisma/${context}/schema.prisma`);
  if (!/^[a-z0-9_]+$/.test(name ?? '')) throw new Error('migration name: lower-case letters, digits and _');
  const dir = path.join(ROOT, 'prisma', context, 'migrations');
  const schema = path.join(ROOT, 'prisma', context, 'schema.prisma');
  const snapshot = snapshotPath(context);
  const from = fs.existsSync(snapshot) ? ['--from-schema-datamodel', snapshot] : ['--from-empty'];
  const sql = prisma(context, ['migrate', 'diff', ...from, '--to-schema-datamodel', schema, '--script'], {
    capture: true,
  })
    // The schema itself is made by `bootstrap` (as superuser); a context's role may not create schemas.
    .replace(/^-- CreateSchema\nCREATE SCHEMA IF NOT EXISTS .*;\n\n?/m, '');
  if (!/\b(CREATE|ALTER|DROP)\b/.test(sql)) {
    console.log(`prisma: ${context} schema.prisma matches its migrations; nothing to write`);
    return null;
  }
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const target = path.join(dir, `${stamp}_${name}`);
  fs.mkdirSync(target, { recursive: true });
  fs.writeFileSync(path.join(target, 'migration.sql'), sql);
  fs.writeFileSync(path.join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');
  fs.copyFileSync(schema, snapshot);
  console.log(`prisma: wrote ${path.relative(ROOT, target)}/migration.sql`);
  return target;
}

/** Fails when a schema.prisma was edited without a migration (run by the build and by npm test). */
export function checkMigrations() {
  const stale = prismaContexts().filter((c) => {
    const snapshot = snapshotPath(c);
    return (
      !fs.existsSync(snapshot) ||
      fs.readFileSync(snapshot, 'utf8') !== fs.readFileSync(path.join(ROOT, 'prisma', c, 'schema.prisma'), 'utf8')
    );
  });
  if (stale.length > 0) {
    throw new Error(
      `schema.prisma changed without a migration in: ${stale.join(', ')} (run: npm run db:new-migration -- <context> <name>)`,
    );
  }
}

/** `[<context> [<migration>]]` → deploy's options. */
function deployArguments([context, migration, ...extra]) {
  if (context === undefined) return {};
  if (extra.length > 0 || !prismaContexts().includes(context))
    throw new Error(`deploy [<context> [<migration folder>]], a context of: ${prismaContexts().join(', ')}`);
  return { contexts: [context], until: migration === undefined ? {} : { [context]: migration } };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [command, ...rest] = process.argv.slice(2);
  const commands = {
    generate: () => generate(),
    bootstrap: () => bootstrap(),
    deploy: () => deploy(deployArguments(rest)),
    'new-migration': () => newMigration(rest[0], rest[1]),
    check: () => checkMigrations(),
  };
  if (!commands[command]) {
    console.error(
      'usage: node scripts/prisma.mjs generate | bootstrap | deploy [<context> [<migration>]] | check | new-migration <context> <name>',
    );
    process.exit(2);
  }
  Promise.resolve()
    .then(() => commands[command]())
    .catch((err) => {
      console.error(`prisma: ${err.message}`);
      process.exit(1);
    });
}
