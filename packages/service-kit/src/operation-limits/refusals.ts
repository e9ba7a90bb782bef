/**
 * The errors an operation refused by its limits gets: BAD_USER_INPUT with a `reason`, the computed
 * figure next to the limit, and HTTP 400 (`spec: false`: yoga would otherwise answer application/json
 * clients with 200, as it does for parse and validation errors).
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../errors.js';
import type { CallerClass } from './settings.js';

export type LimitReason =
  'MAX_TOKENS' | 'MAX_DEPTH' | 'MAX_RECURSION' | 'MAX_ALIASES' | 'MAX_ROOT_FIELDS' | 'COST_LIMIT';

export const LIMIT_REASONS: ReadonlySet<string> = new Set<LimitReason>([
  'MAX_TOKENS',
  'MAX_DEPTH',
  'MAX_RECURSION',
  'MAX_ALIASES',
  'MAX_ROOT_FIELDS',
  'COST_LIMIT',
]);

function refusal(message: string, reason: LimitReason, figures: Record<string, unknown>): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.BAD_USER_INPUT, reason, ...figures, http: { status: 400, spec: false } },
  });
}

/** Figures can grow past what a JSON number says exactly (nested multipliers); they are reported capped. */
const figure = (n: number) =>
  Number.isFinite(n) ? Math.min(Math.round(n), Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER;

export const tooManyTokens = (tokens: number, limit: number) =>
  refusal(`The document has ${tokens} tokens; the limit is ${limit}.`, 'MAX_TOKENS', { tokens, limit });

export const tooDeep = (depth: number, limit: number) =>
  refusal(`The operation is ${depth} fields deep; the limit is ${limit}.`, 'MAX_DEPTH', { depth, limit });

export const tooRecursive = (coordinate: string, count: number, limit: number) =>
  refusal(`The field ${coordinate} appears ${count} times along one path; the limit is ${limit}.`, 'MAX_RECURSION', {
    coordinate,
    repeats: count,
    limit,
  });

export const tooManyAliases = (aliases: number, limit: number) =>
  refusal(`The document has ${aliases} aliases; the limit is ${limit}.`, 'MAX_ALIASES', { aliases, limit });

export const tooManyRootFields = (rootFields: number, limit: number) =>
  refusal(`The operation has ${figure(rootFields)} top-level fields; the limit is ${limit}.`, 'MAX_ROOT_FIELDS', {
    rootFields: figure(rootFields),
    limit,
  });

const CALLERS: Record<CallerClass, string> = {
  anonymous: 'anonymous callers',
  'signed-in': 'signed-in users',
  admin: 'admins',
};

export const tooCostly = (cost: number, limit: number, caller: CallerClass) =>
  refusal(`The operation's cost is ${figure(cost)}; the limit for ${CALLERS[caller]} is ${limit}.`, 'COST_LIMIT', {
    cost: figure(cost),
    limit,
  });
