import { GraphQLScalarType, Kind } from 'graphql';
import { GraphQLError } from 'graphql';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

function parseIso(value: unknown): string {
  const ms = typeof value === 'string' && ISO.test(value) ? Date.parse(value) : Number.NaN;
  const iso = Number.isNaN(ms) ? '' : new Date(ms).toISOString();
  // Date.parse rolls impossible dates over (Feb 30 -> Mar 2); refuse them instead of changing them.
  if (iso === '' || iso.slice(0, 19) !== String(value).slice(0, 19)) {
    throw new GraphQLError('DateTime must be a UTC ISO 8601 string such as 2026-01-31T12:00:00Z.', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  return iso;
}

/** UTC instants as ISO 8601 strings (docs/architecture.md, Conventions), shared by every subgraph. */
export const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  description: 'An instant in UTC, ISO 8601.',
  serialize(value) {
    if (value instanceof Date) return value.toISOString();
    return parseIso(value);
  },
  parseValue: parseIso,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING)
      throw new GraphQLError('DateTime must be a string.', { extensions: { code: 'BAD_USER_INPUT' } });
    return parseIso(ast.value);
  },
});
