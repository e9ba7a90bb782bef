/**
 * Persisted documents: the manifest format's limits, and the checks each document passes against
 * the committed supergraph before it is trusted (one named query or mutation, valid, within cost).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '@coursegraph/test-support';
import { costTableFromSdl } from '../src/operation-limits/index.js';
import {
  ManifestError,
  MAX_DOCUMENT_BYTES,
  MAX_MANIFEST_ENTRIES,
  apiSchemaOf,
  checkDocument,
  parseManifest,
  persistedDocumentId,
} from '../src/persisted-documents.js';

const supergraphSdl = readFileSync(path.join(ROOT, 'schema/supergraph.graphql'), 'utf8');
const apiSchema = apiSchemaOf(supergraphSdl);
const costTable = costTableFromSdl(supergraphSdl);

const CATALOG = 'query Catalog { catalog(first: 3) { totalCount edges { node { title } } } }';
const check = (document: string, maxCost = 5000, id = persistedDocumentId(document)) =>
  checkDocument(apiSchema, costTable, id, document, { maxCost });

function manifestProblems(text: string): string[] {
  try {
    parseManifest(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ManifestError);
    return (error as ManifestError).problems;
  }
  throw new Error('the manifest was accepted');
}

describe('parseManifest', () => {
  it('reads the client preset format in its order', () => {
    const other = 'query Me { me { id } }';
    const text = JSON.stringify({ [persistedDocumentId(CATALOG)]: CATALOG, [persistedDocumentId(other)]: other });
    expect(parseManifest(text).entries).toEqual([
      [persistedDocumentId(CATALOG), CATALOG],
      [persistedDocumentId(other), other],
    ]);
  });

  it("takes the client preset's default `sha256:` ids as the bare hex", () => {
    const text = JSON.stringify({ [`sha256:${persistedDocumentId(CATALOG)}`]: CATALOG });
    expect(parseManifest(text).entries).toEqual([[persistedDocumentId(CATALOG), CATALOG]]);
    expect(manifestProblems(JSON.stringify({ 'sha256:abc': CATALOG }))[0]).toMatch(/64 lowercase hex/);
  });

  it('refuses text that is not a JSON object of documents', () => {
    expect(manifestProblems('{ not json')[0]).toMatch(/not JSON/);
    expect(manifestProblems('[]')[0]).toMatch(/not a JSON object/);
    expect(manifestProblems('null')[0]).toMatch(/not a JSON object/);
    expect(manifestProblems('"text"')[0]).toMatch(/not a JSON object/);
    expect(manifestProblems('{}')[0]).toMatch(/no documents/);
  });

  it('refuses more than the most entries, before looking at any', () => {
    const many = Object.fromEntries(
      Array.from({ length: MAX_MANIFEST_ENTRIES + 1 }, (_, i) => [persistedDocumentId(`q${i}`), `q${i}`]),
    );
    expect(manifestProblems(JSON.stringify(many))).toEqual([
      `the manifest holds ${MAX_MANIFEST_ENTRIES + 1} documents, more than ${MAX_MANIFEST_ENTRIES}`,
    ]);
  });

  it('lists every bad id, non-string document and oversized document', () => {
    const good = persistedDocumentId(CATALOG);
    const upper = good.toUpperCase();
    const big = `query Big { ${'me { id } '.repeat(MAX_DOCUMENT_BYTES / 10)} }`;
    const problems = manifestProblems(
      JSON.stringify({ [upper]: CATALOG, 'short-id': CATALOG, [good]: 42, ['f'.repeat(64)]: big }),
    );
    expect(problems).toEqual([
      `"${upper}": a document id is 64 lowercase hex characters (sha256)`,
      '"short-id": a document id is 64 lowercase hex characters (sha256)',
      `${good}: the document is not a string`,
      `${'f'.repeat(64)}: the document is over ${MAX_DOCUMENT_BYTES} bytes`,
    ]);
  });

  it('refuses a huge text before parsing it', () => {
    expect(manifestProblems(' '.repeat(5 * 1024 * 1024))[0]).toMatch(/the manifest is over \d+ bytes/);
  });
});

describe('checkDocument', () => {
  it('accepts one named query and gives its name, type and cost', () => {
    expect(check(CATALOG)).toEqual({ ok: true, operationName: 'Catalog', operationType: 'query', cost: 7 });
  });

  it('accepts a named mutation, and the fragments it uses beside it', () => {
    const logIn =
      'mutation LogIn($input: LogInInput!) { logIn(input: $input) { accessToken user { ...Who } } } fragment Who on User { id }';
    expect(check(logIn)).toMatchObject({ ok: true, operationName: 'LogIn', operationType: 'mutation' });
  });

  it("refuses a fragment the operation does not use, as the gateway's validation would", () => {
    expect(check(`${CATALOG} fragment Unused on User { id }`)).toMatchObject({
      ok: false,
      problems: ['Fragment "Unused" is never used.'],
    });
  });

  it('refuses an id that is not the hash of the text exactly as given', () => {
    expect(check(CATALOG, 5000, persistedDocumentId(`${CATALOG}\n`))).toEqual({
      ok: false,
      operationName: 'Catalog',
      problems: ['the id is not the sha256 (hex) of the document text'],
    });
  });

  it("names the field graphql-js's validation refuses, every one", () => {
    const result = check('query Broken { catalog(first: 3) { edges { node { nope title { deeper } } } } }');
    expect(result).toEqual({
      ok: false,
      operationName: 'Broken',
      problems: [
        expect.stringContaining('Cannot query field "nope" on type "Course".'),
        'Field "title" must not have a selection since type "String!" has no subfields.',
      ],
    });
  });

  it('refuses anonymous operations, two operations, subscriptions and text that does not parse', () => {
    expect(check('{ me { id } }')).toMatchObject({ ok: false, problems: ['the operation has no name'] });
    expect(check('query A { me { id } } query B { me { email } }')).toMatchObject({
      ok: false,
      operationName: null,
      problems: ['the document holds 2 operations; a persisted document holds one'],
    });
    const subscription = check('subscription Reply { tutorReply(turnId: "x") { __typename } }');
    expect(subscription.ok).toBe(false);
    expect(subscription.ok === false && subscription.problems).toContain(
      'the operation is a subscription; persisted documents are queries and mutations',
    );
    expect(check('query Oops { me { id }')).toMatchObject({
      ok: false,
      operationName: null,
      problems: [expect.stringContaining('Syntax Error')],
    });
  });

  it('refuses an operation over the cost limit, saying both numbers', () => {
    expect(check(CATALOG, 5)).toEqual({
      ok: false,
      operationName: 'Catalog',
      problems: ["the operation's estimated cost 7 is over the limit 5"],
    });
  });

  it('holds the document to the shape limits', () => {
    const result = checkDocument(apiSchema, costTable, persistedDocumentId(CATALOG), CATALOG, {
      maxCost: 5000,
      limits: {
        limitMaxTokens: 2000,
        limitMaxDepth: 2,
        limitMaxRecursion: 2,
        limitMaxAliases: 30,
        limitMaxRootFields: 20,
        limitMaxCostAnonymous: 5000,
        limitMaxCostSignedIn: 10000,
        limitMaxCostAdmin: 50000,
        limitDefaultListSize: 10,
      },
    });
    expect(result).toMatchObject({ ok: false, problems: ['The operation is 4 fields deep; the limit is 2.'] });
  });
});
