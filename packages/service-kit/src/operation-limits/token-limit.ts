/**
 * The parser's token limit. graphql-js stops parsing once a document passes `maxTokens`, so a
 * legitimate document is lexed once; only a refused one is lexed again to report its count.
 */
import { GraphQLError, Lexer, Source, TokenKind, type DocumentNode, type ParseOptions } from 'graphql';
import { tooManyTokens } from './refusals.js';

export type ParseFn = (source: string | Source, options?: ParseOptions) => DocumentNode;

/** Tokens of `source` the parser would count (comments are not tokens); a lexing error ends the count. */
export function countTokens(source: string | Source): number {
  const lexer = new Lexer(typeof source === 'string' ? new Source(source) : source);
  let count = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) count++;
  } catch {
    // A syntax error further on: what was read so far is the count.
  }
  return count;
}

/** `parse` with at most `limit` tokens; over it, a MAX_TOKENS refusal with the document's count. */
export function withTokenLimit(parse: ParseFn, limit: number): ParseFn {
  return (source, options) => {
    try {
      return parse(source, { ...options, maxTokens: limit });
    } catch (err) {
      if (err instanceof GraphQLError && /Document contains more th\w+ \d+ tokens/.test(err.message))
        throw tooManyTokens(countTokens(source), limit);
      throw err;
    }
  };
}
