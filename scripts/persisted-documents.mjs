#!/usr/bin/env node
// The project's persisted operations: every `schema/operations/*.graphql` (one named operation per
// file, with the fragments it uses) goes through GraphQL Code Generator's client preset (the same
// run as `npm run generate`, scripts/lib/operations-codegen.mjs, here in memory), and its
// persisted-documents manifest, `{ "<sha256 of the document>": "<document>" }`, is written to
// `schema/operations/persisted-documents.json`. That committed copy is what the gateway
// (GATEWAY_PERSISTED_DOCUMENTS_PATH) and Hive Gateway (test/e2e/hive-gateway.config.mjs) load, and
// what a review reads to see which first-party operations changed. With --check it writes nothing
// and fails when the committed manifest is not codegen's current output.
import fs from 'node:fs';
import path from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { Kind, parse } from 'graphql';
import { ROOT } from './lib/env.mjs';
import { documentId, operationsCodegen } from './lib/operations-codegen.mjs';

export { documentId };
export const OPERATIONS_DIR = path.join(ROOT, 'schema/operations');
export const MANIFEST = path.join(OPERATIONS_DIR, 'persisted-documents.json');

/** Problems codegen does not look for: a file without exactly one named operation, a name used twice. */
function fileProblems() {
  const problems = [];
  const files = new Map();
  for (const file of fs.readdirSync(OPERATIONS_DIR).filter((f) => f.endsWith('.graphql'))) {
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
    const name = ops[0].name.value;
    if (files.has(name)) problems.push(`operation ${name} is defined in ${files.get(name)} and ${file}`);
    files.set(name, file);
  }
  return problems;
}

/** codegen's manifest text for the operations as they are now (throws listing the problems). */
export async function manifestText() {
  const problems = fileProblems();
  if (problems.length) throw new Error(`schema/operations:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  const outputs = await generate({ cwd: ROOT, silent: true, generates: operationsCodegen() }, false);
  const manifest = outputs.find((o) => o.filename.endsWith('persisted-documents.json'));
  if (!manifest) throw new Error('GraphQL Code Generator wrote no persisted-documents.json');
  return `${manifest.content.trimEnd()}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const text = await manifestText();
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
