/**
 * The project's persisted operations (schema/operations/*.graphql) still validate against the
 * committed supergraph, and schema/operations/persisted-documents.json, which gateways serving
 * persisted operations load, is what `node scripts/persisted-documents.mjs` writes from them.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MANIFEST, collectOperations, documentId, manifestText } from '../scripts/persisted-documents.mjs';

describe('schema/operations/persisted-documents.json', () => {
  it('is current: run `node scripts/persisted-documents.mjs` after changing an operation or the supergraph', () => {
    const operations = collectOperations();
    expect(operations.length).toBeGreaterThan(0);
    expect(fs.readFileSync(MANIFEST, 'utf8')).toBe(manifestText(operations));
  });

  it('keys every document by the sha256 of its text, as GraphQL Code Generator does', () => {
    const manifest = JSON.parse(fs.readFileSync(MANIFEST, 'utf8')) as Record<string, string>;
    for (const [id, document] of Object.entries(manifest)) {
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      expect(documentId(document)).toBe(id);
    }
  });
});
