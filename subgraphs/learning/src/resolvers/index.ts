import { DateTimeScalar } from '@coursegraph/service-kit';
import type { Resolvers } from '../generated/resolvers-types.js';
import { JSONScalar } from './json-scalar.js';
import { Query } from './query.js';
import { Mutation } from './mutation.js';
import {
  Activity,
  Attempt,
  Card,
  Concept,
  ConceptMastery,
  Course,
  CourseGrade,
  Item,
  ItemStatistic,
  Lesson,
  Note,
  Quiz,
  QuizDraft,
  QuizGrade,
  User,
} from './entities.js';

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  JSON: JSONScalar,
  Query,
  Mutation,
  Activity,
  Attempt,
  Card,
  Concept,
  ConceptMastery,
  Course,
  CourseGrade,
  Item,
  ItemStatistic,
  Lesson,
  Note,
  Quiz,
  QuizDraft,
  QuizGrade,
  User,
};
