import { requireViewer } from '@coursegraph/service-kit';
import type { QueryResolvers } from '../generated/resolvers-types.js';
import { isCertificatePublicId } from '../domain/certificates.js';
import { enrollmentsOf } from './connection.js';

export const Query: QueryResolvers = {
  myEnrollments: (_parent, { first, after }, ctx) => enrollmentsOf(ctx.db, requireViewer(ctx).userId, first, after),
  // Public: anyone holding the id can verify it; a malformed id simply matches nothing.
  certificate: (_parent, { publicId }, ctx) =>
    isCertificatePublicId(publicId.trim()) ? ctx.db.certificate.findUnique({ where: { publicId: publicId.trim() } }) : null,
};
