import { DateTimeScalar } from '@coursegraph/service-kit';
import type { Resolvers } from '../generated/resolvers-types.js';
import { Query } from './query.js';
import { Mutation } from './mutation.js';
import { User } from './user.js';
import { Partner, PartnerManifest, PartnerMutation, PartnerQuery, PersistedDocument } from './partners.js';
import { UsageQuery } from './usage.js';

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Query: { ...Query, ...PartnerQuery, ...UsageQuery },
  Mutation: { ...Mutation, ...PartnerMutation },
  User,
  Partner,
  PartnerManifest,
  PersistedDocument,
};
