import { DateTimeScalar } from '@coursegraph/service-kit';
import type { Resolvers } from '../generated/resolvers-types.js';
import { Query } from './query.js';
import { Mutation } from './mutation.js';
import { Order } from './order.js';
import { Coupon, LedgerEntry, Payment, Refund } from './types.js';
import { User } from './user.js';

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Query,
  Mutation,
  Order,
  Payment,
  Refund,
  Coupon,
  LedgerEntry,
  User,
};
