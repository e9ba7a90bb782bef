// GraphQL Code Generator's client preset over the project's own operations (schema/operations/*.graphql),
// shared by codegen.ts (`npm run generate` writes the typed documents) and scripts/persisted-documents.mjs
// (which writes the committed manifest from the same run, in memory).
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT } from './env.mjs';

const require = createRequire(import.meta.url);

/** Where the typed documents go: test-support builds them, so tests and benchmarks import them from its dist. */
export const OPERATIONS_OUTPUT = 'packages/test-support/src/generated/operations/';

/**
 * A document's persisted id: sha256 hex of its text. Given to the preset as a function because its
 * built-in 'sha256' prefixes ids with "sha256:", and the gateway, Hive Gateway and partner manifests
 * use the bare hex.
 */
export const documentId = (document) => crypto.createHash('sha256').update(document).digest('hex');

/** The client-facing schema of a supergraph (what the gateway serves and clients are typed against). */
export function apiSchema(supergraphPath = path.join(ROOT, 'schema/supergraph.graphql')) {
  const { Supergraph } = require('@apollo/federation-internals');
  return Supergraph.build(fs.readFileSync(supergraphPath, 'utf8')).schema.toAPISchema().toGraphQLJSSchema();
}

/** The codegen `generates` entry (output directory → options) for the operations. */
export function operationsCodegen() {
  return {
    [OPERATIONS_OUTPUT]: {
      schema: apiSchema(),
      documents: 'schema/operations/*.graphql',
      preset: 'client',
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: { hashAlgorithm: documentId },
      },
      config: {
        // Relative imports with ".js", as NodeNext resolution (tsconfig.base.json) requires.
        emitLegacyCommonJSImports: false,
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', ID: 'string', JSON: 'unknown' },
      },
    },
  };
}
