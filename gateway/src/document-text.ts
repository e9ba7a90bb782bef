/**
 * The printed text of a parsed operation, printed once per document: yoga's parse cache hands back
 * the same DocumentNode for the same request text, so this is a lookup after the first request.
 * Keys of the in-flight sharing and of the response cache are built from it.
 */
import { print, type DocumentNode } from 'graphql';

const printed = new WeakMap<DocumentNode, string>();

export function documentText(document: DocumentNode): string {
  let text = printed.get(document);
  if (text === undefined) {
    text = print(document);
    printed.set(document, text);
  }
  return text;
}

/** Incremental delivery streams parts of a result: neither shared nor cached. */
export const isIncremental = (text: string): boolean => text.includes('@defer') || text.includes('@stream');

/**
 * Marks a result that several responses will carry (a shared execution, a cached answer) so that
 * yoga serialises it once: yoga uses a result's own `stringify` when it has one. Not enumerable,
 * so it is neither serialised nor copied by a spread.
 */
export function serializeOnce<T extends object>(result: T): T {
  if (Object.prototype.hasOwnProperty.call(result, 'stringify')) return result;
  let json: string | undefined;
  Object.defineProperty(result, 'stringify', {
    enumerable: false,
    value: (value: unknown) => (value === result ? (json ??= JSON.stringify(value)) : JSON.stringify(value)),
  });
  return result;
}

/** A result's JSON, through its own serialiser when it has one, so a marked result is serialised once. */
export function jsonOf(result: object): string {
  return ((result as { stringify?: (value: unknown) => string }).stringify ?? JSON.stringify)(result);
}
