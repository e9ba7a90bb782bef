import { GraphQLScalarType } from 'graphql';
import { badInput } from '@coursegraph/service-kit';

/** Output-only JSON (authored item content, saved answers, answer keys): inputs are typed instead. */
export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value: an item’s authored content, a saved answer, an answer key shown after submission.',
  serialize: (value) => value,
  parseValue: () => {
    throw badInput('JSON is an output type; send typed inputs instead.');
  },
  parseLiteral: () => {
    throw badInput('JSON is an output type; send typed inputs instead.');
  },
});
