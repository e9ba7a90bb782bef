/**
 * The project's own persisted documents (schema/operations/persisted-documents.json, written by
 * GraphQL Code Generator's client preset from schema/operations/*.graphql): `{ "<sha256>": "<document>" }`.
 * A request is of a registered document when it names one by id, or when its text is one: the
 * sha256 of the text as sent, or of graphql's `print` of it (so a client that reformats the text,
 * or a tool that prints it, still matches).
 */
import { readFileSync } from 'node:fs';
import { parse, print, type DocumentNode } from 'graphql';
import { parseManifest, persistedDocumentId } from '@coursegraph/service-kit';
import { documentText } from '../document-text.js';

export interface FirstPartyManifest {
  /** The document with this id, or undefined. */
  get(id: string): string | undefined;
  /**
   * The id of the registered document `text` is, or null: by the text's own hash, then by the
   * printed form of `document` (its parse; yoga's, so the operation limits have judged it already).
   */
  idOf(text: string, document: DocumentNode | null): string | null;
  readonly size: number;
}

export function firstPartyManifest(entries: [string, string][]): FirstPartyManifest {
  const documents = new Map(entries);
  const byPrinted = new Map<string, string>();
  for (const [id, document] of entries) {
    if (persistedDocumentId(document) !== id)
      throw new Error(`persisted document ${id} is not the sha256 of its text: regenerate the manifest`);
    byPrinted.set(persistedDocumentId(print(parse(document))), id);
  }
  return {
    get: (id) => documents.get(id),
    idOf(text, document) {
      const id = persistedDocumentId(text);
      if (documents.has(id)) return id;
      return document ? (byPrinted.get(persistedDocumentId(documentText(document))) ?? null) : null;
    },
    get size() {
      return documents.size;
    },
  };
}

/** Reads the manifest at `path`; a missing or broken file fails start-up with the reason. */
export function loadFirstPartyManifest(path: string): FirstPartyManifest {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(
      `cannot read the persisted documents at ${path} (GATEWAY_PERSISTED_DOCUMENTS_PATH): ${(err as Error).message}`,
    );
  }
  return firstPartyManifest(parseManifest(text).entries);
}
