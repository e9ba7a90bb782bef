import { describe, expect, it } from 'vitest';
import type { GraphQLError } from 'graphql';
import { MAX_PAGE_SIZE, decodeCursor, encodeCursor, pageSize } from '../src/connections.js';
import { newId } from '../src/ids.js';

function thrown(fn: () => unknown): GraphQLError {
  try {
    fn();
  } catch (err) {
    return err as GraphQLError;
  }
  throw new Error('expected an error');
}

describe('pageSize', () => {
  it('returns the default for null and undefined', () => {
    expect(pageSize(null)).toBe(20);
    expect(pageSize(undefined)).toBe(20);
    expect(pageSize(null, 5)).toBe(5);
  });

  it('accepts 1..MAX_PAGE_SIZE', () => {
    expect(MAX_PAGE_SIZE).toBe(100);
    expect(pageSize(1)).toBe(1);
    expect(pageSize(37)).toBe(37);
    expect(pageSize(100)).toBe(100);
  });

  it('rejects out-of-range and non-integer values with BAD_USER_INPUT on "first"', () => {
    for (const bad of [0, -1, 101, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 1e9]) {
      const err = thrown(() => pageSize(bad));
      expect(err.extensions, String(bad)).toEqual({ code: 'BAD_USER_INPUT', field: 'first' });
      expect(err.message).toBe('"first" must be between 1 and 100.');
    }
  });
});

describe('cursors', () => {
  it('round-trip the encoded value', () => {
    for (const value of [newId(), '2026-01-31T12:00:00.000Z|42', 'ünïcødé ✓', '', 'c:c:nested']) {
      const cursor = encodeCursor(value);
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeCursor(cursor)).toBe(value);
    }
  });

  it('are opaque: the raw value does not show', () => {
    const id = newId();
    expect(encodeCursor(id)).not.toContain(id);
  });

  it('decode null and undefined to null', () => {
    expect(decodeCursor(null)).toBeNull();
    expect(decodeCursor(undefined)).toBeNull();
  });

  it('reject garbage with BAD_USER_INPUT on "after"', () => {
    const garbage = [
      'not a cursor',
      '',
      'abc',
      Buffer.from('x:123').toString('base64url'),
      Buffer.from('c:123').toString('base64'),
      '%%%',
      'A'.repeat(500),
      newId(),
    ];
    for (const cursor of garbage) {
      const err = thrown(() => decodeCursor(cursor));
      expect(err.extensions, cursor).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
      expect(err.message).toBe('"after" is not a cursor from this list.');
    }
  });
});
