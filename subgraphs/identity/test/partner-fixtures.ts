/** What the partner tests share: documents the supergraph accepts or refuses, and manifests of them. */
import { fromBinary } from '@bufbuild/protobuf';
import { IdentityEvents } from '@coursegraph/contracts';
import { newId, persistedDocumentId } from '@coursegraph/service-kit';
import type { IdentityHarness } from './harness.js';

export const CATALOG = 'query PartnerCatalog { catalog(first: 3) { totalCount edges { node { title } } } }';
export const COURSE = 'query PartnerCourse($slug: String!) { course(slug: $slug) { title lessonCount } }';
/** Over an anonymous caller's cost limit (5000 by default). */
export const EXPENSIVE =
  'query PartnerEverything { catalog(first: 500) { edges { node { title modules { title lessons { title } } } } } }';
export const MISSING_FIELD = 'query PartnerBroken { catalog(first: 3) { edges { node { nope } } } }';
export const SUBSCRIPTION = 'subscription PartnerWatch { tutorReply(turnId: "x") { __typename } }';

export const manifestOf = (...documents: string[]) =>
  JSON.stringify(Object.fromEntries(documents.map((d) => [persistedDocumentId(d), d])));

export const uniquePartnerName = (tag = 'partner') => `${tag} ${newId()}`;

export async function createPartner(h: IdentityHarness, token: string, name = uniquePartnerName()) {
  const res = await h.gql(
    `mutation($input: CreatePartnerInput!) { createPartner(input: $input) { id name rateLimitPerMinute costBudgetPerMinute } }`,
    { input: { name } },
    token,
  );
  if (!res.body.data?.createPartner) throw new Error(`createPartner failed: ${JSON.stringify(res.body.errors)}`);
  return res.body.data.createPartner as { id: string; name: string };
}

export async function issueKey(h: IdentityHarness, token: string, partnerId: string) {
  const res = await h.gql(
    `mutation($id: ID!) { issuePartnerApiKey(partnerId: $id) { key apiKey { id prefix createdAt revokedAt } } }`,
    { id: partnerId },
    token,
  );
  if (!res.body.data?.issuePartnerApiKey)
    throw new Error(`issuePartnerApiKey failed: ${JSON.stringify(res.body.errors)}`);
  return res.body.data.issuePartnerApiKey as { key: string; apiKey: { id: string; prefix: string; revokedAt: null } };
}

export const REGISTER = `mutation($id: ID!, $manifest: String!) {
  registerPartnerManifest(partnerId: $id, manifest: $manifest) {
    id documentCount partner { id } documents { id operationName operationType document cost }
  }
}`;

/** The `identity.partner.changed` payloads in the outbox for one partner, oldest first. */
export async function partnerChanges(h: IdentityHarness, partnerId: string): Promise<string[]> {
  const rows = await h.app.db.outboxEvent.findMany({
    where: { subject: IdentityEvents.partnerChanged.subject },
    orderBy: { id: 'desc' },
    take: 2000,
  });
  return rows
    .reverse()
    .map((r) => fromBinary(IdentityEvents.partnerChanged.schema, r.payload))
    .filter((p) => p.partnerId === partnerId)
    .map((p) => p.change);
}
