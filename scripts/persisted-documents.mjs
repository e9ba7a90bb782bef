#!/usr/bin/env node
// The project's persisted operations: every `schema/operations/*.graphql` (one named operation per
// file, with the fragments it uses) is validated against the committed supergraph's API schema and
// written to `schema/operations/persisted-documents.json` in GraphQL Code Generator's
// persisted-documents format, `{ "<sha256 of the document>": "<document>" }`, the document printed
// by graphql-js (so the hash does not depend on comments or layout). A gateway that serves persisted
// operations only (Hive Gateway, see test/e2e/catalog-queries.test.ts) loads that file. With --check it
// writes nothing and fails when the committed manifest is stale or an operation no longer validates.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Kind, parse, print, validate } from 'graphql';
import { ROOT } from './lib/env.mjs';

export const OPERATIONS_DIR = path.join(ROOT, 'schema/operations');
export const MANIFEST = path.join(OPERATIONS_DIR, 'persisted-documents.json');

const require = createRequire(import.meta.url);

/** The client-facing schema of the committed supergraph (what the gateway serves). */
function apiSchema() {
  const { Supergraph } = require('@apollo/federation-internals');
  const sdl = fs.readFileSync(path.join(ROOT, 'schema/supergraph.graphql'), 'utf8');
  return Supergraph.build(sdl).schema.toAPISchema().toGraphQLJSSchema();
}

/** sha256 (hex) of a printed document: its persisted id. */
export const documentId = (document) => crypto.createHash('sha256').update(document).digest('hex');

/**
 * Every operation under schema/operations/, validated: `{ file, name, document, id }`, sorted by
 * file. Throws listing every problem (a file without exactly one named operation, a duplicate
 * name, a document the supergraph rejects).
 */
export function collectOperations() {
  const schema = apiSchema();
  const problems = [];
  const operations = [];
  const files = fs
    .readdirSync(OPERATIONS_DIR)
    .filter((f) => f.endsWith('.graphql'))
    .sort();
  for (const file of files) {
    let ast;
    try {
      ast = parse(fs.readFileSync(path.join(OPERATIONS_DIR, file), 'utf8'));
    } catch (err) {
      problems.push(`${file}: ${err.message}`);
      continue;
    }
    const ops = ast.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    if (ops.length !== 1 || !ops[0].name) {
      problems.push(`${file}: holds ${ops.length} operations; each file holds exactly one, named`);
      continue;
    }
    for (const error of validate(schema, ast)) problems.push(`${file}: ${error.message}`);
    const document = print(ast);
    operations.push({ file, name: ops[0].name.value, document, id: documentId(document) });
  }
  const names = operations.map((o) => o.name);
  for (const name of new Set(names.filter((n, i) => names.indexOf(n) !== i)))
    problems.push(`operation ${name} is defined in more than one file`);
  if (problems.length) throw new Error(`schema/operations:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return operations;
}

/** The manifest's text for `operations`: ids in the files' order, two-space JSON, a final newline. */
export function manifestText(operations = collectOperations()) {
  return `${JSON.stringify(Object.fromEntries(operations.map((o) => [o.id, o.document])), null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const text = manifestText();
    if (process.argv.includes('--check')) {
      const committed = fs.existsSync(MANIFEST) ? fs.readFileSync(MANIFEST, 'utf8') : '';
      if (committed !== text) {
        console.error(
          'schema/operations/persisted-documents.json is stale: run `node scripts/persisted-documents.mjs` and commit the result.',
        );
        process.exit(1);
      }
      console.log('persisted-documents: schema/operations/persisted-documents.json is up to date');
    } else {
      fs.writeFileSync(MANIFEST, text);
      console.log(
        `persisted-documents: wrote ${Object.keys(JSON.parse(text)).length} operations to schema/operations/persisted-documents.json`,
      );
    }
  } catch (err) {
    console.error(`persisted-documents: ${err.message}`);
    process.exit(1);
  }
}
