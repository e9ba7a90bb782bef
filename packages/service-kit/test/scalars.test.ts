import { describe, expect, it } from 'vitest';
import { Kind, parseValue as parseLiteralAst, type GraphQLError } from 'graphql';
import { DateTimeScalar } from '../src/scalars.js';

function thrown(fn: () => unknown): GraphQLError {
  try {
    fn();
  } catch (err) {
    return err as GraphQLError;
  }
  throw new Error('expected an error');
}

const BAD = [
  '2026-02-30T00:00:00Z', // impossible date: refused, never rolled over to March
  '2026-13-01T00:00:00Z',
  '2026-01-31T12:00:00+02:00',
  '2026-01-31T12:00:00',
  '2026-01-31 12:00:00Z',
  '2026-01-31',
  '2026-13-01T00:00:00Z',
  '2026-01-32T00:00:00Z',
  '2026-01-31T25:00:00Z',
  '2026-01-31T12:00:00.1234Z',
  'yesterday',
  '',
  '1769860800000',
];

describe('DateTime scalar', () => {
  it('serializes a Date to a UTC ISO string', () => {
    expect(DateTimeScalar.serialize(new Date(Date.UTC(2026, 0, 31, 12, 0, 0, 5)))).toBe('2026-01-31T12:00:00.005Z');
  });

  it('serializes a UTC ISO string in its canonical form', () => {
    expect(DateTimeScalar.serialize('2026-01-31T12:00:00Z')).toBe('2026-01-31T12:00:00.000Z');
  });

  it('parses UTC ISO strings from variables into the canonical form', () => {
    expect(DateTimeScalar.parseValue('2026-01-31T12:00:00Z')).toBe('2026-01-31T12:00:00.000Z');
    expect(DateTimeScalar.parseValue('2026-01-31T12:00:00.5Z')).toBe('2026-01-31T12:00:00.500Z');
  });

  it('rejects non-UTC strings and garbage with BAD_USER_INPUT', () => {
    for (const value of [...BAD, 1769860800000, null, {}, new Date(0)]) {
      const err = thrown(() => DateTimeScalar.parseValue(value));
      expect(err.extensions?.code, String(value)).toBe('BAD_USER_INPUT');
      expect(err.message).toBe('DateTime must be a UTC ISO 8601 string such as 2026-01-31T12:00:00Z.');
    }
  });

  it('parses string literals and rejects other literal kinds with BAD_USER_INPUT', () => {
    expect(DateTimeScalar.parseLiteral(parseLiteralAst('"2026-01-31T12:00:00Z"'))).toBe('2026-01-31T12:00:00.000Z');
    const notString = thrown(() => DateTimeScalar.parseLiteral(parseLiteralAst('1769860800')));
    expect(notString.extensions?.code).toBe('BAD_USER_INPUT');
    for (const value of BAD) {
      const err = thrown(() => DateTimeScalar.parseLiteral({ kind: Kind.STRING, value }));
      expect(err.extensions?.code, value).toBe('BAD_USER_INPUT');
    }
  });

  it('refuses to serialize a value that is not a UTC instant', () => {
    expect(() => DateTimeScalar.serialize('2026-01-31T12:00:00+02:00')).toThrow();
    expect(() => DateTimeScalar.serialize(42)).toThrow();
  });
});
