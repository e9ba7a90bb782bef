import { badInput, requireViewer } from '@coursegraph/service-kit';
import type { QueryResolvers } from '../generated/resolvers-types.js';
import { isCertificatePublicId } from '../domain/certificates.js';
import { enrollmentsOf } from './connection.js';

export const Query: QueryResolvers = {
  myEnrollments: (_parent, { first, after }, ctx) =>
    enrollmentsOf(ctx.db, ctx.sql, requireViewer(ctx).userId, first, after),
  // Public: anyone holding the id can verify it. People type ids, so case and spaces around are
  // forgiven; anything else of the wrong form is refused (without echoing it) before any query.
  certificate: (_parent, { publicId }, ctx) => {
    const id = publicId.trim().toUpperCase();
    if (!isCertificatePublicId(id))
      throw badInput('Not a certificate id: they read CG-XXXX-XXXX-XXXX-XXXX-XXXX.', 'publicId');
    return ctx.db.certificate.findUnique({ where: { publicId: id } });
  },
};
