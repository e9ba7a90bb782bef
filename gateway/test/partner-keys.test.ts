/**
 * Partners at the gateway (issue 17, point 1): an API key runs only its partner's registered
 * documents, by id (POST `documentId`, APQ's hash, or GET with an ETag), with the partner's own
 * request and cost budgets; a revoked key stops working as soon as identity.partner.changed says so.
 * See support/persisted-documents-harness.ts for what runs (real Redis and NATS; identity's
 * internal route spoken by a small server of the test's own).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '@coursegraph/service-kit';
import { eventually } from '@coursegraph/test-support';
import { keyHash } from '../src/persisted-documents/index.js';
import { createPartnerAccess, type PartnerAccessLookup } from '../src/persisted-documents/partner-access.js';
import {
  addPartner,
  calls,
  errorOf,
  getWith,
  idOf,
  identityStandIn,
  newApiKey,
  postJson,
  publishPartnerChanged,
  startHarness,
  type Harness,
  type IdentityStandIn,
  SECRET,
} from './support/persisted-documents-harness.js';

const HELLO = 'query PartnerHello($name: String) {\n  hello(name: $name)\n}';
const RENAME = 'mutation PartnerRename($title: String!) {\n  rename(title: $title)\n}';
const documents = {
  [idOf(HELLO)]: { text: HELLO, operationName: 'PartnerHello', cost: 3 },
  [idOf(RENAME)]: { text: RENAME, operationName: 'PartnerRename', operationType: 'mutation' as const },
};

let identity: IdentityStandIn;
let gateway: Harness;

beforeAll(async () => {
  identity = await identityStandIn();
  gateway = await startHarness({ mode: 'enforce', identityUrl: identity.url, getMaxAgeSeconds: 90 });
});

afterAll(async () => {
  await gateway?.close();
  await identity?.close();
});

beforeEach(() => {
  for (const key of Object.keys(calls)) delete calls[key];
});

describe('a partner key', () => {
  it('runs a registered document by POST documentId, as an anonymous caller, noted for usage', async () => {
    const { key, access } = addPartner(identity, documents);
    const res = await postJson(
      gateway.url,
      { documentId: idOf(HELLO), variables: { name: 'Ada' } },
      { 'x-api-key': key },
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: { hello: 'hello Ada' } });
    expect(gateway.noted.at(-1)).toMatchObject({
      partnerId: access.partner.id,
      partnerName: access.partner.name,
      documentId: idOf(HELLO),
      unregistered: false,
    });
    // The "sha256:" prefix of the GraphQL-over-HTTP draft, and APQ's hash, name the same document.
    const prefixed = await postJson(gateway.url, { documentId: `sha256:${idOf(HELLO)}` }, { 'x-api-key': key });
    expect(prefixed.body).toEqual({ data: { hello: 'hello world' } });
    const apq = await postJson(
      gateway.url,
      { extensions: { persistedQuery: { version: 1, sha256Hash: idOf(HELLO) } }, variables: { name: 'Bo' } },
      { 'x-api-key': key },
    );
    expect(apq.body).toEqual({ data: { hello: 'hello Bo' } });
    // A mutation of its manifest by POST.
    const renamed = await postJson(
      gateway.url,
      { documentId: idOf(RENAME), variables: { title: 'T' } },
      { 'x-api-key': key },
    );
    expect(renamed.body).toEqual({ data: { rename: 'T' } });
    expect(calls).toEqual({ hello: 3, rename: 1 });
  });

  it('runs a query by GET with an ETag and public Cache-Control, and answers a matching If-None-Match with 304', async () => {
    const { key } = addPartner(identity, documents);
    const first = await getWith(
      gateway.url,
      { documentId: idOf(HELLO), variables: { name: 'Cy' } },
      { 'x-api-key': key },
    );
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ data: { hello: 'hello Cy' } });
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect(first.headers.get('cache-control')).toBe('public, max-age=90');
    const again = await getWith(
      gateway.url,
      { documentId: idOf(HELLO), variables: { name: 'Cy' } },
      { 'x-api-key': key, 'if-none-match': etag },
    );
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    expect(again.headers.get('etag')).toBe(etag);
    // Other variables, another answer and another tag.
    const other = await getWith(
      gateway.url,
      { documentId: idOf(HELLO), variables: { name: 'Di' } },
      { 'x-api-key': key, 'if-none-match': etag },
    );
    expect(other.status).toBe(200);
    expect(other.headers.get('etag')).not.toBe(etag);
  });

  it('refuses a mutation by GET with 405, and answers with errors are not cacheable', async () => {
    const { key } = addPartner(identity, documents);
    const res = await getWith(
      gateway.url,
      { documentId: idOf(RENAME), variables: { title: 'x' } },
      { 'x-api-key': key },
    );
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('etag')).toBeNull();
    const missingVariable = await getWith(gateway.url, { documentId: idOf(RENAME) }, { 'x-api-key': key });
    expect(missingVariable.status).toBe(405);
    expect(calls).toEqual({});
  });

  it('refuses an unknown id, a raw query, a malformed id, no id, and an access token beside the key', async () => {
    const { key } = addPartner(identity, documents);
    const unknown = await postJson(gateway.url, { documentId: idOf('query Other { hello }') }, { 'x-api-key': key });
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown)).toMatchObject({ code: 'NOT_FOUND', reason: 'PERSISTED_DOCUMENT_NOT_FOUND' });
    // Another partner's document, or a first-party one, is not this partner's.
    const firstParty = await postJson(
      gateway.url,
      { documentId: idOf('query Hello($name: String) {\n  hello(name: $name)\n}') },
      { 'x-api-key': key },
    );
    expect(errorOf(firstParty).reason).toBe('PERSISTED_DOCUMENT_NOT_FOUND');

    const raw = await postJson(gateway.url, { query: HELLO }, { 'x-api-key': key });
    expect(raw.status).toBe(403);
    expect(errorOf(raw).code).toBe('FORBIDDEN');
    expect(raw.body.errors![0]!.message).toMatch(/partner keys run only the operations of their registered manifests/i);

    for (const documentId of ['abc', idOf(HELLO).toUpperCase(), `${idOf(HELLO)}0`, 42, { id: idOf(HELLO) }]) {
      const malformed = await postJson(gateway.url, { documentId }, { 'x-api-key': key });
      expect(malformed.status).toBe(400);
      expect(errorOf(malformed)).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'MALFORMED_DOCUMENT_ID' });
    }
    const none = await postJson(gateway.url, { variables: {} }, { 'x-api-key': key });
    expect(errorOf(none).reason).toBe('DOCUMENT_ID_REQUIRED');

    const { token } = await gateway.issuer.token('ADMIN');
    const both = await postJson(
      gateway.url,
      { documentId: idOf(HELLO) },
      { 'x-api-key': key, authorization: `Bearer ${token}` },
    );
    expect(both.status).toBe(400);
    expect(errorOf(both).reason).toBe('CONFLICTING_CREDENTIALS');
    expect(calls).toEqual({});
  });

  it('refuses an unknown key with 401 without asking identity when it is not even shaped like a key', async () => {
    const before = identity.lookups;
    const unknown = await postJson(gateway.url, { documentId: idOf(HELLO) }, { 'x-api-key': newApiKey() });
    expect(unknown.status).toBe(401);
    expect(errorOf(unknown).code).toBe('UNAUTHENTICATED');
    expect(unknown.body.errors![0]!.message).toMatch(/unknown or revoked API key/i);
    expect(identity.lookups).toBe(before + 1);
    const junk = await postJson(gateway.url, { documentId: idOf(HELLO) }, { 'x-api-key': 'x'.repeat(4000) });
    expect(junk.status).toBe(401);
    expect(identity.lookups).toBe(before + 1);
    // Every request the gateway made was signed.
    expect(identity.unsigned).toBe(0);
  });

  it('stops working once identity.partner.changed says the key was revoked', async () => {
    const { key, access } = addPartner(identity, documents);
    const live = await postJson(gateway.url, { documentId: idOf(HELLO) }, { 'x-api-key': key });
    expect(live.status).toBe(200);
    // Identity forgets the key and announces it; the gateway's cached answer (60 s) goes at once.
    identity.partners.clear();
    await publishPartnerChanged(access.partner.id, 'KEY_REVOKED');
    const refused = await eventually('the revoked key is refused', async () => {
      const res = await postJson(gateway.url, { documentId: idOf(HELLO) }, { 'x-api-key': key });
      return res.status === 401 ? res : null;
    });
    expect(errorOf(refused).code).toBe('UNAUTHENTICATED');
  });

  it('refuses a key it holds no answer for with a clear 503 while identity does not answer', async () => {
    const { key } = addPartner(identity, documents);
    identity.down = true;
    try {
      const refused = await postJson(gateway.url, { documentId: idOf(HELLO) }, { 'x-api-key': key });
      expect(refused.status).toBe(503);
      expect(errorOf(refused)).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'identity' });
    } finally {
      identity.down = false;
    }
    expect((await postJson(gateway.url, { documentId: idOf(HELLO) }, { 'x-api-key': key })).status).toBe(200);
    expect(calls).toEqual({ hello: 1 });
  });

  it('holds each partner to its own requests per minute, in Redis, with Retry-After', async () => {
    const { key } = addPartner(identity, documents, { rateLimitPerMinute: 2 });
    const { key: otherKey } = addPartner(identity, documents, { rateLimitPerMinute: 2 });
    for (let i = 0; i < 2; i++)
      expect((await postJson(gateway.url, { documentId: idOf(HELLO) }, { 'x-api-key': key })).status).toBe(200);
    const limited = await postJson(gateway.url, { documentId: idOf(HELLO) }, { 'x-api-key': key });
    expect(limited.status).toBe(429);
    expect(errorOf(limited)).toMatchObject({ code: 'RATE_LIMITED', reason: 'partner' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another partner has buckets of its own.
    expect((await postJson(gateway.url, { documentId: idOf(HELLO) }, { 'x-api-key': otherKey })).status).toBe(200);
    expect(calls.hello).toBe(3);
  });

  it("holds each partner to its cost budget: each run draws its document's registered cost", async () => {
    // HELLO costs 3: two runs fit in 7, a third does not; RENAME (cost 1) still fits.
    const { key } = addPartner(identity, documents, { costBudgetPerMinute: 7 });
    for (let i = 0; i < 2; i++)
      expect((await postJson(gateway.url, { documentId: idOf(HELLO) }, { 'x-api-key': key })).status).toBe(200);
    const spent = await postJson(gateway.url, { documentId: idOf(HELLO) }, { 'x-api-key': key });
    expect(spent.status).toBe(429);
    expect(errorOf(spent)).toMatchObject({ code: 'RATE_LIMITED', reason: 'partner-cost' });
    const cheap = await postJson(
      gateway.url,
      { documentId: idOf(RENAME), variables: { title: 'ok' } },
      { 'x-api-key': key },
    );
    expect(cheap.status).toBe(200);
    // A document costing more than the whole budget could never run: said so.
    const { key: small } = addPartner(identity, documents, { costBudgetPerMinute: 2 });
    const never = await postJson(gateway.url, { documentId: idOf(HELLO) }, { 'x-api-key': small });
    expect(never.status).toBe(429);
    expect(never.body.errors![0]!.message).toMatch(/costs 3, more than the partner's budget of 2/);
  });
});

describe('the partner-access cache', () => {
  const silent = createLogger('partner-access-test', 'silent');
  let access: PartnerAccessLookup;
  beforeAll(async () => {
    // Answers expire at once: every look-up after the first asks identity again.
    access = await createPartnerAccess({
      identityUrl: identity.url,
      signingSecret: SECRET,
      nats: process.env.NATS_URL!,
      logger: silent,
      ttlMs: 1,
      negativeTtlMs: 60_000,
    });
  });
  afterAll(() => access?.close());
  const expire = () => new Promise((resolve) => setTimeout(resolve, 5));

  it('uses an expired answer while identity does not answer', async () => {
    const { key, access: record } = addPartner(identity, documents);
    expect((await access.byKey(key))?.partner.id).toBe(record.partner.id);
    await expire();
    identity.down = true;
    try {
      expect((await access.byKey(key))?.partner.id).toBe(record.partner.id);
      await expect(access.byKey(newApiKey())).rejects.toMatchObject({ extensions: { code: 'SUBGRAPH_UNAVAILABLE' } });
    } finally {
      identity.down = false;
    }
  });

  it('asks identity once for concurrent look-ups of one key', async () => {
    const { key } = addPartner(identity, documents);
    const before = identity.lookups;
    const answers = await Promise.all(Array.from({ length: 5 }, () => access.byKey(key)));
    expect(new Set(answers.map((a) => a?.keyId)).size).toBe(1);
    expect(identity.lookups).toBe(before + 1);
  });

  it('forgets "unknown key" answers when a partner changes, so a key just issued works at once', async () => {
    const key = newApiKey();
    expect(await access.byKey(key)).toBeNull();
    // Issued now: the negative answer (kept 60 s here) would hide it until the event drops it.
    const issued = addPartner(identity, documents);
    identity.partners.set(keyHash(key), issued.access);
    expect(await access.byKey(key)).toBeNull();
    await publishPartnerChanged(issued.access.partner.id, 'KEY_ISSUED');
    const found = await eventually('the new key is known', () => access.byKey(key));
    expect(found.partner.id).toBe(issued.access.partner.id);
  });
});
