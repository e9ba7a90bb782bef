/**
 * Persisted documents: the checks a manifest of operations passes before it is trusted, shared by
 * identity (a partner registering a manifest) and the supergraph check (a schema change must not
 * break a registered operation). A manifest is GraphQL Code Generator's client-preset format,
 * `{ "<sha256 hex of the document>": "<document>" }`. Each document is judged as the gateway would
 * judge it at run time: validated against the supergraph's API schema, its shape and cost held to
 * the operation limits (without variables, so defaults and `@listSize` stand in for them).
 */
import { createHash } from 'node:crypto';
import { Supergraph } from '@apollo/federation-internals';
import { Kind, parse, validate, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { operationLimitSettings } from './config.js';
import { analyseShape, operationCost } from './operation-limits/analysis.js';
import type { CostTable } from './operation-limits/cost-table.js';
import { shapeRefusal } from './operation-limits/plugin.js';
import type { OperationLimitsConfig } from './operation-limits/settings.js';

/** Most documents in one manifest. */
export const MAX_MANIFEST_ENTRIES = 500;
/** Largest document, in UTF-8 bytes. */
export const MAX_DOCUMENT_BYTES = 64 * 1024;
/** Largest manifest text, checked before it is parsed as JSON. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const DOCUMENT_ID = /^[0-9a-f]{64}$/;
const SHA256_PREFIX = 'sha256:';

/** A manifest that is not one: `problems` lists every reason found (one when the text is not even a JSON object). */
export class ManifestError extends Error {
  constructor(readonly problems: string[]) {
    super(`manifest refused: ${problems.join('; ')}`);
    this.name = 'ManifestError';
  }
}

/** The persisted id of a document: sha256 (hex) of its text exactly as given. */
export const persistedDocumentId = (document: string) => createHash('sha256').update(document).digest('hex');

/** The `[id, document]` entries of a manifest's JSON text, in its order; throws a ManifestError. */
export function parseManifest(text: string): { entries: [string, string][] } {
  if (Buffer.byteLength(text) > MAX_MANIFEST_BYTES)
    throw new ManifestError([`the manifest is over ${MAX_MANIFEST_BYTES} bytes`]);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ManifestError([`the manifest is not JSON (${(error as Error).message})`]);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw new ManifestError(['the manifest is not a JSON object of { "<sha256 hex>": "<document>" }']);
  const entries = Object.entries(json);
  if (entries.length === 0) throw new ManifestError(['the manifest holds no documents']);
  if (entries.length > MAX_MANIFEST_ENTRIES)
    throw new ManifestError([`the manifest holds ${entries.length} documents, more than ${MAX_MANIFEST_ENTRIES}`]);
  const problems: string[] = [];
  const bare: [string, unknown][] = [];
  // GraphQL Code Generator's client preset writes `sha256:<hex>` ids by default: the same id.
  for (const [prefixed, document] of entries) {
    const id = prefixed.startsWith(SHA256_PREFIX) ? prefixed.slice(SHA256_PREFIX.length) : prefixed;
    bare.push([id, document]);
    // An id is echoed back only once it is known to be short and plain.
    const shown = DOCUMENT_ID.test(id) ? id : JSON.stringify(id.slice(0, 80));
    if (!DOCUMENT_ID.test(id)) problems.push(`${shown}: a document id is 64 lowercase hex characters (sha256)`);
    if (typeof document !== 'string') problems.push(`${shown}: the document is not a string`);
    else if (Buffer.byteLength(document) > MAX_DOCUMENT_BYTES)
      problems.push(`${shown}: the document is over ${MAX_DOCUMENT_BYTES} bytes`);
  }
  if (problems.length) throw new ManifestError(problems);
  return { entries: bare as [string, string][] };
}

export interface CheckDocumentOptions {
  /** The highest cost allowed (the limit of the caller class that will run it). */
  maxCost: number;
  /** The operation limits (tokens, depth, aliases, ..., default list size); default the platform's defaults. */
  limits?: Omit<OperationLimitsConfig, 'operationLimits'>;
}

export type DocumentCheck =
  | { ok: true; operationName: string; operationType: 'query' | 'mutation'; cost: number }
  | { ok: false; operationName: string | null; problems: string[] };

const defaultLimits = Object.fromEntries(
  Object.entries(operationLimitSettings).map(([key, setting]) => [key, setting.default]),
) as OperationLimitsConfig;

/**
 * Whether the document `id` → `document` may be persisted: `id` is the sha256 of the text, the
 * text parses and holds exactly one named query or mutation (fragments may come with it), it
 * validates against `apiSchema`, keeps to the shape limits and costs at most `maxCost`. Every
 * problem found is listed; validation problems are graphql-js's messages, which name the field.
 */
export function checkDocument(
  apiSchema: GraphQLSchema,
  costTable: CostTable,
  id: string,
  document: string,
  options: CheckDocumentOptions,
): DocumentCheck {
  const limits = { ...defaultLimits, ...options.limits };
  const problems: string[] = [];
  if (persistedDocumentId(document) !== id) problems.push('the id is not the sha256 (hex) of the document text');
  let ast: DocumentNode;
  try {
    ast = parse(document, { maxTokens: limits.limitMaxTokens });
  } catch (error) {
    return { ok: false, operationName: null, problems: [...problems, (error as Error).message] };
  }
  const operations = ast.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operations.length === 1 ? operations[0]! : undefined;
  const operationName = operation?.name?.value ?? null;
  if (!operation) problems.push(`the document holds ${operations.length} operations; a persisted document holds one`);
  else {
    if (!operationName) problems.push('the operation has no name');
    if (operation.operation === 'subscription')
      problems.push('the operation is a subscription; persisted documents are queries and mutations');
  }
  const validationErrors = validate(apiSchema, ast);
  for (const error of validationErrors) problems.push(error.message);
  // Shape and cost assume a valid document of one operation.
  if (operation && validationErrors.length === 0) {
    const shape = shapeRefusal(analyseShape(ast, costTable), limits);
    if (shape) problems.push(shape.message);
    const cost = operationCost(ast, operation, costTable, null, { defaultListSize: limits.limitDefaultListSize });
    if (cost > options.maxCost)
      problems.push(`the operation's estimated cost ${cost} is over the limit ${options.maxCost}`);
    if (problems.length === 0 && operationName && operation.operation !== 'subscription')
      return { ok: true, operationName, operationType: operation.operation, cost };
  }
  return { ok: false, operationName, problems };
}

/** The client-facing schema of a supergraph (what the gateway serves): federation's internals removed. */
export function apiSchemaOf(supergraphSdl: string): GraphQLSchema {
  return Supergraph.build(supergraphSdl).schema.toAPISchema().toGraphQLJSSchema();
}
