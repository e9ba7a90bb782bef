/**
 * The project's persisted operations (schema/operations/*.graphql) through GraphQL Code Generator's
 * client preset: schema/operations/persisted-documents.json, which the gateway and Hive Gateway load,
 * is codegen's current manifest (`node scripts/persisted-documents.mjs` writes it), its ids are the
 * sha256 of the document texts, and the typed documents `npm run generate` emits carry those ids.
 */
import fs from 'node:fs';
import { operations } from '@coursegraph/test-support';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { MANIFEST, OPERATIONS_DIR, documentId, manifestText } from '../scripts/persisted-documents.mjs';

const manifest = JSON.parse(fs.readFileSync(MANIFEST, 'utf8')) as Record<string, string>;

const operationName = (document: string) =>
  parse(document).definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!.name!
    .value;

describe('schema/operations/persisted-documents.json', () => {
  it("is codegen's current manifest: run `node scripts/persisted-documents.mjs` after changing an operation or the supergraph", async () => {
    expect(fs.readFileSync(MANIFEST, 'utf8')).toBe(await manifestText());
  });

  it('holds every operation file, once', () => {
    const files = fs.readdirSync(OPERATIONS_DIR).filter((f) => f.endsWith('.graphql'));
    const names = files.map((f) => operationName(fs.readFileSync(`${OPERATIONS_DIR}/${f}`, 'utf8')));
    expect(Object.values(manifest).map(operationName).sort()).toEqual(names.sort());
  });

  it('keys every document by the sha256 (hex) of its text', () => {
    for (const [id, document] of Object.entries(manifest)) {
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      expect(documentId(document)).toBe(id);
    }
  });

  it('gives each typed document the id of its operation in the manifest', () => {
    const idOf = Object.fromEntries(Object.entries(manifest).map(([id, document]) => [operationName(document), id]));
    const typed = Object.values(operations as Record<string, unknown>).filter(
      (value): value is { __meta__: { hash: string }; definitions: OperationDefinitionNode[] } =>
        typeof value === 'object' && value !== null && '__meta__' in value,
    );
    expect(typed).toHaveLength(Object.keys(manifest).length);
    for (const document of typed) {
      const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION)!;
      expect(document.__meta__.hash).toBe(idOf[operation.name!.value]);
    }
  });
});
