/**
 * The partner registry through identity's graph, on the real test database: admins create partners,
 * issue and revoke keys (shown once, stored hashed) and register manifests that are judged whole
 * against the supergraph; every change is announced through the outbox.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode } from '@coursegraph/test-support';
import { persistedDocumentId } from '@coursegraph/service-kit';
import { startIdentity, type IdentityHarness } from './harness.js';
import {
  CATALOG,
  COURSE,
  EXPENSIVE,
  MISSING_FIELD,
  REGISTER,
  SUBSCRIPTION,
  createPartner,
  issueKey,
  manifestOf,
  partnerChanges,
  uniquePartnerName,
} from './partner-fixtures.js';

let h: IdentityHarness;
let admin: string;
beforeAll(async () => {
  h = await startIdentity();
  admin = (await h.admin()).accessToken;
});
afterAll(async () => {
  await h.close();
});

const CREATE = `mutation($input: CreatePartnerInput!) { createPartner(input: $input) { id name rateLimitPerMinute costBudgetPerMinute } }`;

describe('partners: the admin flow', () => {
  it('creates a partner, issues a key shown once, registers a manifest and lists it all', async () => {
    const name = uniquePartnerName('Acme');
    const created = await h.gql(CREATE, { input: { name: `  ${name}  ` } }, admin);
    const partner = created.body.data!.createPartner;
    expect(partner).toMatchObject({ name, rateLimitPerMinute: 600, costBudgetPerMinute: 60000 });

    const { key, apiKey } = await issueKey(h, admin, partner.id);
    expect(key).toMatch(/^cgp_[A-Za-z0-9_-]{43}$/);
    expect(apiKey).toMatchObject({ prefix: key.slice(0, 12), revokedAt: null });
    const stored = await h.app.db.partnerApiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
    expect(stored.keyHash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(JSON.stringify(stored)).not.toContain(key);

    const registered = await h.gql(REGISTER, { id: partner.id, manifest: manifestOf(CATALOG, COURSE) }, admin);
    expect(registered.body.errors).toBeUndefined();
    const manifest = registered.body.data!.registerPartnerManifest;
    expect(manifest).toMatchObject({ documentCount: 2, partner: { id: partner.id } });
    expect(manifest.documents).toEqual([
      {
        id: persistedDocumentId(CATALOG),
        operationName: 'PartnerCatalog',
        operationType: 'query',
        document: CATALOG,
        cost: 7,
      },
      {
        id: persistedDocumentId(COURSE),
        operationName: 'PartnerCourse',
        operationType: 'query',
        document: COURSE,
        cost: expect.any(Number),
      },
    ]);

    const listed = await h.gql(
      `query($id: ID!) {
        partner(id: $id) { name keys { id prefix revokedAt } documents { id operationName } }
        partners { id name }
      }`,
      { id: partner.id },
      admin,
    );
    expect(listed.body.data!.partner).toMatchObject({
      name,
      keys: [{ id: apiKey.id, prefix: apiKey.prefix, revokedAt: null }],
    });
    expect(listed.body.data!.partner.documents.map((d: any) => d.operationName).sort()).toEqual([
      'PartnerCatalog',
      'PartnerCourse',
    ]);
    expect(listed.body.data!.partners).toContainEqual({ id: partner.id, name });
  });

  it('takes its own limits, within bounds', async () => {
    const res = await h.gql(
      CREATE,
      { input: { name: uniquePartnerName(), rateLimitPerMinute: 30, costBudgetPerMinute: 900 } },
      admin,
    );
    expect(res.body.data!.createPartner).toMatchObject({ rateLimitPerMinute: 30, costBudgetPerMinute: 900 });
    for (const input of [
      { name: uniquePartnerName(), rateLimitPerMinute: 0 },
      { name: uniquePartnerName(), costBudgetPerMinute: -5 },
      { name: uniquePartnerName(), rateLimitPerMinute: 1_000_000_000 },
      { name: ' x ' },
      { name: 'x'.repeat(81) },
    ]) {
      const refused = await h.gql(CREATE, { input }, admin);
      expect(errorCode(refused)).toBe('BAD_USER_INPUT');
      expect(await h.app.db.partner.count({ where: { name: input.name.trim() } })).toBe(0);
    }
  });

  it('refuses a second partner of the same name', async () => {
    const name = uniquePartnerName('Twice');
    await createPartner(h, admin, name);
    const again = await h.gql(CREATE, { input: { name } }, admin);
    expect(errorCode(again)).toBe('CONFLICT');
    expect(again.body.errors![0]!.message).toBe(`A partner named "${name}" already exists.`);
    expect(await h.app.db.partner.count({ where: { name } })).toBe(1);
  });

  it('keeps a document the partner already has as it was, and adds the new ones', async () => {
    const partner = await createPartner(h, admin);
    await h.gql(REGISTER, { id: partner.id, manifest: manifestOf(CATALOG) }, admin);
    const first = await h.app.db.persistedDocument.findUniqueOrThrow({
      where: { partnerId_documentId: { partnerId: partner.id, documentId: persistedDocumentId(CATALOG) } },
    });
    const second = await h.gql(REGISTER, { id: partner.id, manifest: manifestOf(CATALOG, COURSE) }, admin);
    expect(second.body.data!.registerPartnerManifest).toMatchObject({ documentCount: 2 });
    expect(second.body.data!.registerPartnerManifest.documents.map((d: any) => d.operationName)).toEqual([
      'PartnerCatalog',
      'PartnerCourse',
    ]);
    const documents = await h.app.db.persistedDocument.findMany({ where: { partnerId: partner.id } });
    expect(documents).toHaveLength(2);
    expect(documents.find((d) => d.documentId === first.documentId)).toEqual(first);
    expect(await h.app.db.partnerManifest.count({ where: { partnerId: partner.id } })).toBe(2);
  });

  it('revokes a key once: revoking again changes nothing', async () => {
    const partner = await createPartner(h, admin);
    const { apiKey } = await issueKey(h, admin, partner.id);
    const revoke = `mutation($id: ID!) { revokePartnerApiKey(keyId: $id) { id revokedAt } }`;
    const first = await h.gql(revoke, { id: apiKey.id }, admin);
    expect(first.body.data!.revokePartnerApiKey.revokedAt).toEqual(expect.any(String));
    const second = await h.gql(revoke, { id: apiKey.id }, admin);
    expect(second.body.data!.revokePartnerApiKey.revokedAt).toBe(first.body.data!.revokePartnerApiKey.revokedAt);
    expect(await partnerChanges(h, partner.id)).toEqual(['PARTNER_CREATED', 'KEY_ISSUED', 'KEY_REVOKED']);

    expect(errorCode(await h.gql(revoke, { id: '0190a000-0000-7000-8000-000000000000' }, admin))).toBe('NOT_FOUND');
    expect(errorCode(await h.gql(revoke, { id: 'not-a-key' }, admin))).toBe('BAD_USER_INPUT');
  });

  it('announces every change through the outbox', async () => {
    const partner = await createPartner(h, admin);
    const { apiKey } = await issueKey(h, admin, partner.id);
    await h.gql(REGISTER, { id: partner.id, manifest: manifestOf(CATALOG) }, admin);
    await h.gql(`mutation($id: ID!) { revokePartnerApiKey(keyId: $id) { id } }`, { id: apiKey.id }, admin);
    expect(await partnerChanges(h, partner.id)).toEqual([
      'PARTNER_CREATED',
      'KEY_ISSUED',
      'MANIFEST_REGISTERED',
      'KEY_REVOKED',
    ]);
  });
});

describe('partners: manifests refused whole', () => {
  it('lists every problem of every bad document and writes nothing', async () => {
    const partner = await createPartner(h, admin);
    const good = manifestOf(CATALOG);
    const wrongId = 'a'.repeat(64);
    const manifest = JSON.stringify({
      ...JSON.parse(good),
      [wrongId]: COURSE,
      ...JSON.parse(manifestOf(MISSING_FIELD, SUBSCRIPTION, EXPENSIVE)),
    });
    const res = await h.gql(REGISTER, { id: partner.id, manifest }, admin);
    expect(res.body.data).toBeNull();
    const error = res.body.errors![0]!;
    expect(error.message).toBe('manifest refused: 4 problems');
    expect(error.extensions!.code).toBe('BAD_USER_INPUT');
    expect(error.extensions!.problems).toEqual([
      {
        documentId: wrongId,
        operationName: 'PartnerCourse',
        message: 'the id is not the sha256 (hex) of the document text',
      },
      {
        documentId: persistedDocumentId(MISSING_FIELD),
        operationName: 'PartnerBroken',
        message: expect.stringContaining('Cannot query field "nope" on type "Course".'),
      },
      {
        documentId: persistedDocumentId(SUBSCRIPTION),
        operationName: 'PartnerWatch',
        message: 'the operation is a subscription; persisted documents are queries and mutations',
      },
      {
        documentId: persistedDocumentId(EXPENSIVE),
        operationName: 'PartnerEverything',
        message: expect.stringMatching(/^the operation's estimated cost \d+ is over the limit 5000$/),
      },
    ]);
    expect(await h.app.db.partnerManifest.count({ where: { partnerId: partner.id } })).toBe(0);
    expect(await h.app.db.persistedDocument.count({ where: { partnerId: partner.id } })).toBe(0);
    expect(await partnerChanges(h, partner.id)).toEqual(['PARTNER_CREATED']);
  });

  it('refuses text that is no manifest, and two documents of one operation name', async () => {
    const partner = await createPartner(h, admin);
    const notJson = await h.gql(REGISTER, { id: partner.id, manifest: '{"oops' }, admin);
    expect(notJson.body.errors![0]!.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      problems: [{ documentId: null, operationName: null, message: expect.stringContaining('not JSON') }],
    });
    // A huge text never reaches the registry: every service refuses a body over its limit first.
    const huge = await h.gql(REGISTER, { id: partner.id, manifest: `"${'x'.repeat(5 * 1024 * 1024)}"` }, admin);
    expect(huge.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'PAYLOAD_TOO_LARGE' });
    const many = manifestOf(...Array.from({ length: 501 }, (_, i) => `query Q${i} { me { id } }`));
    expect(
      (await h.gql(REGISTER, { id: partner.id, manifest: many }, admin)).body.errors![0]!.extensions,
    ).toMatchObject({
      code: 'BAD_USER_INPUT',
      problems: [{ documentId: null, message: 'the manifest holds 501 documents, more than 500' }],
    });
    const renamed = CATALOG.replace('totalCount ', '');
    const twice = await h.gql(REGISTER, { id: partner.id, manifest: manifestOf(CATALOG, renamed) }, admin);
    expect(twice.body.errors![0]!.extensions!.problems).toEqual([
      {
        documentId: persistedDocumentId(renamed),
        operationName: 'PartnerCatalog',
        message: `the operation name PartnerCatalog is also used by document ${persistedDocumentId(CATALOG)}`,
      },
    ]);
    expect(await h.app.db.persistedDocument.count({ where: { partnerId: partner.id } })).toBe(0);
  });

  it('refuses a partner id that is malformed or unknown', async () => {
    const manifest = manifestOf(CATALOG);
    expect(errorCode(await h.gql(REGISTER, { id: 'nope', manifest }, admin))).toBe('BAD_USER_INPUT');
    expect(errorCode(await h.gql(REGISTER, { id: '0190a000-0000-7000-8000-000000000000', manifest }, admin))).toBe(
      'NOT_FOUND',
    );
  });
});

describe('partners: admins only', () => {
  it('refuses learners and anonymous callers every partner field, and writes nothing', async () => {
    const partner = await createPartner(h, admin);
    const { apiKey } = await issueKey(h, admin, partner.id);
    const learner = (await h.signUp('not-admin')).accessToken;
    const name = uniquePartnerName('Sneaky');
    const attempts: [string, Record<string, unknown>][] = [
      [CREATE, { input: { name } }],
      [`mutation($id: ID!) { issuePartnerApiKey(partnerId: $id) { key } }`, { id: partner.id }],
      [`mutation($id: ID!) { revokePartnerApiKey(keyId: $id) { id } }`, { id: apiKey.id }],
      [REGISTER, { id: partner.id, manifest: manifestOf(CATALOG) }],
      [`{ partners { id } }`, {}],
      [`query($id: ID!) { partner(id: $id) { id } }`, { id: partner.id }],
    ];
    for (const [query, variables] of attempts) {
      expect(errorCode(await h.gql(query, variables, learner))).toBe('FORBIDDEN');
      expect(errorCode(await h.gql(query, variables))).toBe('UNAUTHENTICATED');
    }
    expect(await h.app.db.partner.count({ where: { name } })).toBe(0);
    expect(await h.app.db.partnerApiKey.count({ where: { partnerId: partner.id } })).toBe(1);
    expect((await h.app.db.partnerApiKey.findUniqueOrThrow({ where: { id: apiKey.id } })).revokedAt).toBeNull();
    expect(await h.app.db.persistedDocument.count({ where: { partnerId: partner.id } })).toBe(0);
  });
});
