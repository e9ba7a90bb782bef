#!/usr/bin/env node
// Checks the Citus distribution plan (deploy/citus/distribution.json) against the Prisma schemas:
// every model's table is planned, each distributed table's column exists and is part of its primary
// key and of every unique constraint (Citus can only enforce a constraint that contains the
// distribution column), and tables co-located with each other share the column's type. A violation
// the plan lists under requiredMigrations is reported as pending, not as a failure; a listed one
// that no longer exists fails, so the list never goes stale. Unique indexes written by hand in the
// migrations (partial ones, which Prisma cannot express) count too.
//
//   node scripts/check-distribution.mjs [--plan <file>]      exit 0 when the plan holds, 1 otherwise
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_PLAN = path.join(ROOT, 'deploy/citus/distribution.json');

/** Prisma scalar → PostgreSQL type, when no `@db.` attribute says otherwise (Prisma's defaults). */
const SCALAR_TYPES = {
  String: 'text',
  Int: 'integer',
  BigInt: 'bigint',
  Boolean: 'boolean',
  DateTime: 'timestamp(3)',
  Json: 'jsonb',
  Bytes: 'bytea',
  Float: 'double precision',
  Decimal: 'decimal(65,30)',
};

const listArg = (text) =>
  (text.match(/\[([^\]]*)\]/)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim().replace(/\(.*$/, ''))
    .filter(Boolean);
const quotedArg = (text, name) => text.match(new RegExp(`${name}\\s*:\\s*"([^"]+)"`))?.[1];

/**
 * Parses one schema.prisma: per table (`<schema>.<table>`), its model, columns (name → SQL type),
 * primary key and unique constraints (`{ name, columns }`), with Prisma's default constraint names.
 */
export function parsePrismaSchema(text) {
  const blocks = [...text.matchAll(/^(model|enum)\s+(\w+)\s*\{([\s\S]*?)^\}/gm)];
  const enums = new Set(blocks.filter((b) => b[1] === 'enum').map((b) => b[2]));
  const models = new Set(blocks.filter((b) => b[1] === 'model').map((b) => b[2]));
  const tables = new Map();
  for (const [, kind, model, body] of blocks) {
    if (kind !== 'model') continue;
    const lines = body
      .split('\n')
      .map((l) => l.replace(/\/\/.*$/, '').trim())
      .filter(Boolean);
    const block = (name) => lines.find((l) => l.startsWith(`@@${name}(`));
    const table = block('map')?.match(/"([^"]+)"/)[1] ?? model;
    const schema = block('schema')?.match(/"([^"]+)"/)[1] ?? 'public';
    const columns = new Map();
    const fieldColumn = new Map();
    let primaryKey = [];
    const uniques = [];
    const foreignKeys = [];
    for (const line of lines) {
      if (line.startsWith('@@')) continue;
      const m = line.match(/^(\w+)\s+(\w+)(\[\])?(\?)?\s*(.*)$/);
      if (!m) continue;
      const [, field, type, list, , attrs] = m;
      if (models.has(type)) {
        // A relation: the side holding `fields` is the foreign key (its columns are mapped below).
        const rel = attrs.match(/@relation\(([^)]*\][^)]*)\)/)?.[1];
        if (rel && /fields\s*:/.test(rel)) {
          foreignKeys.push({
            fields: listArg(rel.match(/fields\s*:\s*\[[^\]]*\]/)[0]),
            parentModel: type,
            references: listArg(rel.match(/references\s*:\s*\[[^\]]*\]/)[0]),
          });
        }
        continue;
      }
      const column = attrs.match(/@map\("([^"]+)"\)/)?.[1] ?? field;
      const native = attrs.match(/@db\.(\w+)(\([^)]*\))?/);
      let sqlType = enums.has(type)
        ? type
        : native
          ? `${native[1].toLowerCase()}${native[2] ?? ''}`
          : (SCALAR_TYPES[type] ?? type);
      if (list) sqlType += '[]';
      columns.set(column, sqlType);
      fieldColumn.set(field, column);
      if (/@id\b/.test(attrs)) primaryKey = [column];
      if (/@unique\b/.test(attrs)) uniques.push({ name: `${table}_${column}_key`, columns: [column] });
    }
    const toColumns = (fields) => fields.map((f) => fieldColumn.get(f) ?? f);
    const id = block('id');
    if (id) primaryKey = toColumns(listArg(id));
    for (const line of lines.filter((l) => l.startsWith('@@unique('))) {
      const cols = toColumns(listArg(line));
      uniques.push({ name: quotedArg(line, 'map') ?? `${table}_${cols.join('_')}_key`, columns: cols });
    }
    tables.set(`${schema}.${table}`, {
      model,
      schema,
      table,
      columns,
      fieldColumn,
      primaryKey,
      primaryKeyName: `${table}_pkey`,
      uniques,
      foreignKeys,
    });
  }
  // Foreign keys name columns and the parent table once every model is read.
  const byModel = new Map([...tables.values()].map((t) => [t.model, t]));
  for (const t of tables.values()) {
    t.foreignKeys = t.foreignKeys.map((fk) => {
      const parent = byModel.get(fk.parentModel);
      const columns = fk.fields.map((f) => t.fieldColumn.get(f) ?? f);
      return {
        name: `${t.table}_${columns.join('_')}_fkey`,
        columns,
        parent: `${parent.schema}.${parent.table}`,
        parentColumns: fk.references.map((f) => parent.fieldColumn.get(f) ?? f),
      };
    });
  }
  for (const t of tables.values()) delete t.fieldColumn;
  return tables;
}

/**
 * Unique indexes created (and dropped) by the migrations' SQL, in migration order, per table name:
 * the partial ones written by hand are what Prisma's schema cannot show.
 */
export function migrationUniqueIndexes(migrationsDir) {
  const live = new Map(); // index name → { table, columns }
  if (!fs.existsSync(migrationsDir)) return live;
  for (const dir of fs.readdirSync(migrationsDir).sort()) {
    const file = path.join(migrationsDir, dir, 'migration.sql');
    if (!fs.existsSync(file)) continue;
    const sql = fs.readFileSync(file, 'utf8').replace(/--.*$/gm, '');
    for (const stmt of sql.split(';')) {
      const created = stmt.match(
        /CREATE\s+UNIQUE\s+INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?"?(\w+)"?\s+ON\s+(?:"?\w+"?\.)?"?(\w+)"?\s*(?:USING\s+\w+\s*)?\(([^)]*)\)/i,
      );
      if (created)
        live.set(created[1], {
          table: created[2],
          columns: created[3].split(',').map((c) => c.trim().replace(/"/g, '').split(/\s+/)[0]),
        });
      const dropped = stmt.match(/DROP\s+INDEX\s+(?:IF\s+EXISTS\s+)?(?:"?\w+"?\.)?"?(\w+)"?/i);
      if (dropped) live.delete(dropped[1]);
    }
  }
  return live;
}

/** Every context's tables: `prisma/<context>/schema.prisma` plus its migrations' unique indexes. */
export function loadTables(root = ROOT) {
  const tables = new Map();
  const prismaDir = path.join(root, 'prisma');
  for (const context of fs.readdirSync(prismaDir).sort()) {
    const schemaFile = path.join(prismaDir, context, 'schema.prisma');
    if (!fs.existsSync(schemaFile)) continue;
    const parsed = parsePrismaSchema(fs.readFileSync(schemaFile, 'utf8'));
    const indexes = migrationUniqueIndexes(path.join(prismaDir, context, 'migrations'));
    for (const [key, t] of parsed) {
      for (const [name, index] of indexes) {
        if (index.table === t.table && !t.uniques.some((u) => u.name === name))
          t.uniques.push({ name, columns: index.columns, fromMigration: true });
      }
      tables.set(key, { ...t, context });
    }
  }
  return tables;
}

const KINDS = new Set(['distributed', 'reference', 'local']);

/**
 * The plan's problems against `tables` (from loadTables), and the required migrations still
 * pending. `plan`: { colocationGroups: { <group>: <sql type> }, tables: { "<schema>.<table>":
 * { kind, column?, colocate?, reason } }, requiredMigrations: [{ table, constraint, change }] }.
 */
export function checkDistribution(plan, tables) {
  const problems = [];
  const pending = [];
  const planned = plan.tables ?? {};
  const groups = plan.colocationGroups ?? {};
  const required = new Map((plan.requiredMigrations ?? []).map((r) => [`${r.table}:${r.constraint}`, r]));
  const violations = new Set();

  for (const [key, t] of tables)
    if (!(key in planned))
      problems.push(
        `${key} (model ${t.model}, context ${t.context}) is not in the plan: say whether it is distributed, reference or local`,
      );
  for (const [key, entry] of Object.entries(planned)) {
    const t = tables.get(key);
    if (!t) {
      problems.push(`${key} is in the plan but no Prisma model maps to it`);
      continue;
    }
    if (!KINDS.has(entry.kind)) {
      problems.push(`${key}: kind must be distributed, reference or local, not ${JSON.stringify(entry.kind)}`);
      continue;
    }
    if (typeof entry.reason !== 'string' || entry.reason.trim().length < 10)
      problems.push(`${key}: give the reason for its kind`);
    if (entry.kind !== 'distributed') {
      if (entry.column || entry.colocate)
        problems.push(`${key}: a ${entry.kind} table has no distribution column or co-location group`);
      continue;
    }
    const column = entry.column;
    if (!t.columns.has(column)) {
      problems.push(
        `${key}: distribution column ${column} is not a column of the table (columns: ${[...t.columns.keys()].join(', ')})`,
      );
      continue;
    }
    if (!(entry.colocate in groups))
      problems.push(`${key}: co-location group ${JSON.stringify(entry.colocate)} is not declared in colocationGroups`);
    else if (groups[entry.colocate] !== t.columns.get(column)) {
      problems.push(
        `${key}: ${column} is ${t.columns.get(column)}, but co-location group ${entry.colocate} is distributed on ${groups[entry.colocate]} (co-located tables must share the column's type)`,
      );
    }
    const constraints = [
      { name: t.primaryKeyName, columns: t.primaryKey, what: 'primary key' },
      ...t.uniques.map((u) => ({ ...u, what: 'unique constraint' })),
    ];
    for (const c of constraints) {
      if (c.columns.includes(column)) continue;
      const id = `${key}:${c.name}`;
      violations.add(id);
      if (required.has(id))
        pending.push({ table: key, constraint: c.name, columns: c.columns, change: required.get(id).change });
      else
        problems.push(
          `${key}: ${c.what} ${c.name} (${c.columns.join(', ')}) does not contain the distribution column ${column}: Citus cannot enforce it; change the plan, or list the migration it needs under requiredMigrations`,
        );
    }
  }
  // Citus's rules for foreign keys: between distributed tables only within one co-location group
  // and through the distribution column on both sides; to a reference table from anywhere; never
  // from a reference or local table to a distributed one, nor from a distributed table to a local one.
  for (const [key, t] of tables) {
    const child = planned[key];
    if (!child || !KINDS.has(child.kind)) continue;
    for (const fk of t.foreignKeys ?? []) {
      const parent = planned[fk.parent];
      if (!parent || !KINDS.has(parent.kind) || parent.kind === 'reference') continue;
      let why;
      if (child.kind === 'distributed' && parent.kind === 'distributed') {
        const i = fk.columns.indexOf(child.column);
        if (child.colocate !== parent.colocate)
          why = `${fk.parent} is in co-location group ${parent.colocate}, not ${child.colocate}`;
        else if (i < 0 || fk.parentColumns[i] !== parent.column)
          why = `it does not pair ${child.column} with ${fk.parent}.${parent.column}`;
      } else if (child.kind === 'distributed') why = `it points from a distributed table to a ${parent.kind} one`;
      else if (parent.kind === 'distributed') why = `it points from a ${child.kind} table to a distributed one`;
      if (!why) continue;
      const id = `${key}:${fk.name}`;
      violations.add(id);
      const detail = `(${fk.columns.join(', ')}) -> ${fk.parent} (${fk.parentColumns.join(', ')})`;
      if (required.has(id))
        pending.push({ table: key, constraint: fk.name, columns: fk.columns, change: required.get(id).change });
      else
        problems.push(
          `${key}: foreign key ${fk.name} ${detail} breaks Citus's rules: ${why}; change the plan, or list the migration it needs under requiredMigrations`,
        );
    }
  }
  for (const [id, r] of required) {
    if (!violations.has(id))
      problems.push(
        `requiredMigrations lists ${r.table} ${r.constraint}, which no longer conflicts with the plan: remove it from the list`,
      );
    if (typeof r.change !== 'string' || r.change.trim().length < 10)
      problems.push(`requiredMigrations ${id}: say what the migration changes`);
  }
  return { problems, pending };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--plan');
  const planFile = i > 0 ? path.resolve(process.argv[i + 1]) : DEFAULT_PLAN;
  const plan = JSON.parse(fs.readFileSync(planFile, 'utf8'));
  const tables = loadTables();
  const { problems, pending } = checkDistribution(plan, tables);
  const counts = Object.values(plan.tables ?? {}).reduce((n, e) => ({ ...n, [e.kind]: (n[e.kind] ?? 0) + 1 }), {});
  console.log(
    `${tables.size} tables: ${Object.entries(counts)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ')}`,
  );
  for (const p of pending)
    console.log(`required migration: ${p.table} ${p.constraint} (${p.columns.join(', ')}): ${p.change}`);
  for (const p of problems) console.error(`problem: ${p}`);
  process.exit(problems.length ? 1 : 0);
}
