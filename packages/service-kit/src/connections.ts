/** Relay connection helpers: opaque cursors and `first` bounds checked the same way everywhere. */
import { badInput } from './errors.js';

export const MAX_PAGE_SIZE = 100;

/** Checks `first` (default 20, 1..MAX_PAGE_SIZE) and returns it. */
export function pageSize(first: number | null | undefined, fallback = 20): number {
  if (first == null) return fallback;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw badInput(`"first" must be between 1 and ${MAX_PAGE_SIZE}.`, 'first');
  }
  return first;
}

/** Longest cursor accepted; encodeCursor refuses values that would not fit, so every cursor it makes decodes. */
const MAX_CURSOR_LENGTH = 1024;

export function encodeCursor(value: string): string {
  const cursor = Buffer.from(`c:${value}`, 'utf8').toString('base64url');
  if (cursor.length > MAX_CURSOR_LENGTH) throw new Error(`cursor value too long (${value.length} characters)`);
  return cursor;
}

/** Decodes a cursor made by encodeCursor; anything else is BAD_USER_INPUT. */
export function decodeCursor(cursor: string | null | undefined): string | null {
  if (cursor == null) return null;
  const decoded =
    cursor.length <= MAX_CURSOR_LENGTH && /^[A-Za-z0-9_-]+$/.test(cursor)
      ? Buffer.from(cursor, 'base64url').toString('utf8')
      : '';
  if (!decoded.startsWith('c:')) throw badInput('"after" is not a cursor from this list.', 'after');
  return decoded.slice(2);
}
