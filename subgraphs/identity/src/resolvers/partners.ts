/**
 * The partner registry on the graph (domain/partners.ts): every field is for admins only, the
 * mutations and the two queries checked here, the nested fields reached only through them.
 */
import { requireRole } from '@coursegraph/service-kit';
import type {
  MutationResolvers,
  PartnerManifestResolvers,
  PartnerResolvers,
  PersistedDocumentResolvers,
  QueryResolvers,
} from '../generated/resolvers-types.js';

export const PartnerQuery: Pick<QueryResolvers, 'partners' | 'partner'> = {
  partners: (_parent, _args, ctx) => {
    requireRole(ctx, 'ADMIN');
    return ctx.partners.list();
  },
  partner: (_parent, { id }, ctx) => {
    requireRole(ctx, 'ADMIN');
    return ctx.partners.get(id);
  },
};

export const PartnerMutation: Pick<
  MutationResolvers,
  'createPartner' | 'issuePartnerApiKey' | 'revokePartnerApiKey' | 'registerPartnerManifest'
> = {
  createPartner: (_parent, { input }, ctx) => ctx.partners.create(requireRole(ctx, 'ADMIN'), input, ctx.traceparent),
  issuePartnerApiKey: (_parent, { partnerId }, ctx) =>
    ctx.partners.issueKey(requireRole(ctx, 'ADMIN'), partnerId, ctx.traceparent),
  revokePartnerApiKey: (_parent, { keyId }, ctx) => {
    requireRole(ctx, 'ADMIN');
    return ctx.partners.revokeKey(keyId, ctx.traceparent);
  },
  registerPartnerManifest: (_parent, { partnerId, manifest }, ctx) =>
    ctx.partners.registerManifest(requireRole(ctx, 'ADMIN'), partnerId, manifest, ctx.traceparent),
};

export const Partner: PartnerResolvers = {
  keys: (partner, _args, ctx) => ctx.partners.keysOf(partner.id),
  documents: (partner, _args, ctx) => ctx.partners.documentsOf(partner.id),
};

export const PersistedDocument: PersistedDocumentResolvers = {
  id: (document) => document.documentId,
};

export const PartnerManifest: PartnerManifestResolvers = {
  partner: async (manifest, _args, ctx) => (await ctx.partners.get(manifest.partnerId))!,
  documents: (manifest, _args, ctx) => ctx.partners.documentsOfManifest(manifest),
};
