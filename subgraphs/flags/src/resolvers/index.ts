import { DateTimeScalar } from '@coursegraph/service-kit';
import type { Resolvers } from '../generated/resolvers-types.js';
import { Flag, FlagAuditEntry } from './entities.js';
import { Mutation } from './mutation.js';
import { Query } from './query.js';

export const resolvers: Resolvers = { DateTime: DateTimeScalar, Query, Mutation, Flag, FlagAuditEntry };
