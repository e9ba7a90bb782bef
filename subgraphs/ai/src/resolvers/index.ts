import { DateTimeScalar } from '@coursegraph/service-kit';
import type { Resolvers } from '../generated/resolvers-types.js';
import { Query } from './query.js';
import { Mutation } from './mutation.js';
import { GeneratedItem, GenerationRun, Lesson, TutorConversation, TutorTurn, User } from './entities.js';

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Query,
  Mutation,
  GeneratedItem,
  GenerationRun,
  Lesson,
  TutorConversation,
  TutorTurn,
  User,
};
