import { DateTimeScalar } from '@coursegraph/service-kit';
import type { Resolvers } from '../generated/resolvers-types.js';
import { Category } from './category.js';
import { Course } from './course.js';
import { CourseDraft } from './course-draft.js';
import { Lesson } from './lesson.js';
import { Module } from './module.js';
import { Mutation } from './mutation.js';
import { Query } from './query.js';
import { User } from './user.js';

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Query,
  Mutation,
  Course,
  CourseDraft,
  Module,
  Lesson,
  Category,
  User,
};
