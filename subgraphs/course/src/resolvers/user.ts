import { isUuid, pageSize } from '@coursegraph/service-kit';
import type { UserResolvers } from '../generated/resolvers-types.js';
import { catalogConnection } from './shared.js';

export const User: UserResolvers = {
  // Course knows users only by id; identity owns everything else about them.
  __resolveReference: (ref) => ({ id: ref.id }),
  taughtCourses: (user, { first, after }, ctx) => {
    const take = pageSize(first);
    if (!isUuid(user.id)) return { edges: [], totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null } };
    return catalogConnection(ctx, { instructorId: user.id.toLowerCase() }, 'NEWEST', take, after);
  },
};
