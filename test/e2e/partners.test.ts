/**
 * Partners, first-party documents and usage per client, end to end through the gateway (issue 17):
 * an admin creates a partner, issues a key and registers a manifest in identity; the gateway then
 * runs that manifest's operations, and only those, for the key (POST and GET with an ETag, and as
 * REST described by OpenAPI 3.1); a revoked key stops working; the supergraph guard names a
 * registered operation a schema change would break; APQ stores a document in Redis; the
 * persisted-documents setting records (log) and then refuses (enforce) unregistered documents; and
 * the usage counts admins read through the graph match a known sequence of calls.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { type E2E, eventually, type Gql, person, type Person, startE2E } from '@coursegraph/test-support';

const ROOT = path.resolve(import.meta.dirname, '../..');
const sha256 = (text: string) => crypto.createHash('sha256').update(text).digest('hex');

/** The partner's operations: a catalog page and the category menu. */
const PARTNER_CATALOG = `query PartnerCatalog($first: Int!, $after: String) {
  catalog(first: $first, after: $after) { totalCount edges { node { id title level } } }
}`;
const PARTNER_CATEGORIES = 'query PartnerCategories { categories { slug name courseCount } }';
const MANIFEST = { [sha256(PARTNER_CATALOG)]: PARTNER_CATALOG, [sha256(PARTNER_CATEGORIES)]: PARTNER_CATEGORIES };

const CREATE_PARTNER = `mutation($i: CreatePartnerInput!) { createPartner(input: $i) { id name rateLimitPerMinute } }`;
const ISSUE_KEY = `mutation($p: ID!) { issuePartnerApiKey(partnerId: $p) { key apiKey { id prefix revokedAt } } }`;
const REVOKE_KEY = `mutation($k: ID!) { revokePartnerApiKey(keyId: $k) { id revokedAt } }`;
const REGISTER = `mutation($p: ID!, $m: String!) {
  registerPartnerManifest(partnerId: $p, manifest: $m) { id documentCount documents { id operationName cost } }
}`;
const USAGE = `query($f: OperationUsageFilter) {
  operationUsage(filter: $f) { client clientVersion partnerId operationName documentId requests errors unregistered }
}`;

let e2e: E2E;
let gql: Gql;
let admin: Person;
let partnerId: string;
let partnerName: string;
let key: string;
let keyId: string;

/** A request to the gateway with headers of the caller's choice; the answer's status, headers and JSON body. */
async function call(
  pathAndQuery: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${e2e.platform.gatewayUrl}${pathAndQuery}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      accept: 'application/graphql-response+json, application/json',
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

const persistedGet = (documentId: string, variables: Record<string, unknown>, headers: Record<string, string>) =>
  call(`/graphql?${new URLSearchParams({ documentId, variables: JSON.stringify(variables) })}`, { headers });

beforeAll(async () => {
  e2e = await startE2E('partners', {
    env: { GATEWAY_PERSISTED_DOCUMENTS: 'log', GATEWAY_USAGE_REPORT_MS: '200' },
  });
  gql = e2e.gql;
  admin = await person(e2e, 'ADMIN');
  partnerName = `Partner ${crypto.randomUUID().slice(0, 8)}`;
  const created = await gql(CREATE_PARTNER, { i: { name: partnerName, rateLimitPerMinute: 1000 } }, admin.token);
  expect(created.body.errors).toBeUndefined();
  partnerId = created.body.data!.createPartner.id;
  const issued = await gql(ISSUE_KEY, { p: partnerId }, admin.token);
  key = issued.body.data!.issuePartnerApiKey.key;
  keyId = issued.body.data!.issuePartnerApiKey.apiKey.id;
  expect(key).toMatch(/^cgp_/);
});

afterAll(async () => {
  await e2e?.platform.stop();
});

describe('a partner', () => {
  it('cannot register a manifest with one bad document: refused whole, with every reason', async () => {
    const broken = 'query PartnerBroken { catalog(first: 1) { edges { node { id noSuchField } } } }';
    const res = await gql(
      REGISTER,
      { p: partnerId, m: JSON.stringify({ ...MANIFEST, [sha256(broken)]: broken }) },
      admin.token,
    );
    expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const problems = res.body.errors![0]!.extensions!.problems as { operationName: string; message: string }[];
    expect(problems).toEqual([
      expect.objectContaining({ operationName: 'PartnerBroken', message: expect.stringMatching(/noSuchField/) }),
    ]);
    // Nothing was registered: the partner's good documents are still unknown to the gateway.
    const run = await call('/graphql', {
      headers: { 'x-api-key': key },
      body: { documentId: sha256(PARTNER_CATEGORIES) },
    });
    expect(run.body.errors?.[0]?.extensions?.reason).toBe('PERSISTED_DOCUMENT_NOT_FOUND');
  });

  it('registers a manifest, each document priced against the supergraph', async () => {
    const res = await gql(REGISTER, { p: partnerId, m: JSON.stringify(MANIFEST) }, admin.token);
    expect(res.body.errors).toBeUndefined();
    const manifest = res.body.data!.registerPartnerManifest;
    expect(manifest.documentCount).toBe(2);
    const byName = Object.fromEntries(manifest.documents.map((d: any) => [d.operationName, d]));
    expect(byName.PartnerCatalog.id).toBe(sha256(PARTNER_CATALOG));
    expect(byName.PartnerCatalog.cost).toBeGreaterThan(byName.PartnerCategories.cost);
  });

  it('runs a manifest operation by POST documentId', async () => {
    // The registration's event reaches the gateway's cache of the key shortly after.
    const res = await eventually('the registered document runs', async () => {
      const r = await call('/graphql', {
        headers: { 'x-api-key': key },
        body: { documentId: sha256(PARTNER_CATALOG), variables: { first: 2 } },
      });
      return r.status === 200 ? r : undefined;
    });
    expect(res.body.errors).toBeUndefined();
    expect(typeof res.body.data.catalog.totalCount).toBe('number');
  });

  it('runs it by GET with an ETag a CDN can revalidate (304)', async () => {
    const first = await persistedGet(sha256(PARTNER_CATALOG), { first: 3 }, { 'x-api-key': key });
    expect(first.status).toBe(200);
    expect(first.body.data.catalog).toBeDefined();
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    expect(first.headers.get('cache-control')).toMatch(/public, max-age=\d+/);
    const again = await persistedGet(
      sha256(PARTNER_CATALOG),
      { first: 3 },
      { 'x-api-key': key, 'if-none-match': etag! },
    );
    expect(again.status).toBe(304);
    expect(again.body).toBeNull();
    // An ETag of another answer gets the whole answer again.
    const other = await persistedGet(
      sha256(PARTNER_CATALOG),
      { first: 3 },
      { 'x-api-key': key, 'if-none-match': '"an-older-answer"' },
    );
    expect(other.status).toBe(200);
    expect(other.headers.get('etag')).toBe(etag);
  });

  it('is refused an unknown id, and any raw query', async () => {
    const unknown = await call('/graphql', {
      headers: { 'x-api-key': key },
      body: { documentId: sha256('query Other { categories { slug } }') },
    });
    expect(unknown.body.errors[0].extensions).toMatchObject({
      code: 'NOT_FOUND',
      reason: 'PERSISTED_DOCUMENT_NOT_FOUND',
    });
    const raw = await call('/graphql', { headers: { 'x-api-key': key }, body: { query: PARTNER_CATEGORIES } });
    expect(raw.body.errors[0].extensions.code).toBe('FORBIDDEN');
    expect(raw.body.data ?? null).toBeNull();
  });

  it('integrates by REST: an OpenAPI 3.1 document that validates, and an endpoint per operation', async () => {
    const openapi = await call('/partners/v1/openapi.json', { headers: { 'x-api-key': key } });
    expect(openapi.status).toBe(200);
    expect(openapi.body.openapi).toMatch(/^3\.1\./);
    const validation = await new Validator().validate(openapi.body);
    expect(validation.errors ?? []).toEqual([]);
    expect(validation.valid).toBe(true);
    expect(Object.keys(openapi.body.paths).sort()).toEqual([
      '/partners/v1/PartnerCatalog',
      '/partners/v1/PartnerCategories',
    ]);

    const rest = await call('/partners/v1/PartnerCatalog?first=2', { headers: { 'x-api-key': key } });
    expect(rest.status).toBe(200);
    expect(rest.body.data.catalog.edges.length).toBeLessThanOrEqual(2);
    const bad = await call('/partners/v1/PartnerCatalog?first=two', { headers: { 'x-api-key': key } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/first/);
  });

  it('is guarded by the supergraph check: removing a field it uses fails, naming the operation and field', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-guard-'));
    try {
      const supergraph = fs.readFileSync(path.join(ROOT, 'schema/supergraph.graphql'), 'utf8');
      // Course.level: PartnerCatalog selects it (so does the project's CatalogPage).
      const candidate = supergraph.replace(/^\s+level: CourseLevel!.*\n/m, '');
      expect(candidate).not.toBe(supergraph);
      const file = path.join(dir, 'supergraph.graphql');
      fs.writeFileSync(file, candidate);
      const run = spawnSync(process.execPath, ['scripts/compose.mjs', '--check'], {
        cwd: ROOT,
        env: { ...process.env, SUPERGRAPH_PATH: file, POSTGRES_DB: e2e.database },
        encoding: 'utf8',
      });
      const output = run.stdout + run.stderr;
      expect(run.status, output).not.toBe(0);
      expect(output).toMatch(new RegExp(`PartnerCatalog \\(partner ${partnerName}`));
      expect(output).toMatch(/Cannot query field "level" on type "Course"/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loses access when its key is revoked', async () => {
    const revoked = await gql(REVOKE_KEY, { k: keyId }, admin.token);
    expect(revoked.body.data!.revokePartnerApiKey.revokedAt).toBeTruthy();
    const refused = await eventually('the revoked key refused', async () => {
      const r = await call('/graphql', {
        headers: { 'x-api-key': key },
        body: { documentId: sha256(PARTNER_CATEGORIES) },
      });
      return r.status === 401 ? r : undefined;
    });
    expect(refused.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});

describe('first-party clients', () => {
  const APQ_QUERY = `query ApqCategories { categories { slug } } # ${crypto.randomUUID()}`;
  const apq = (withQuery: boolean) =>
    call('/graphql', {
      body: {
        ...(withQuery ? { query: APQ_QUERY } : {}),
        extensions: { persistedQuery: { version: 1, sha256Hash: sha256(APQ_QUERY) } },
      },
    });

  it('APQ: a miss, then registration with the text, then a hit by hash alone', async () => {
    const miss = await apq(false);
    // Apollo's protocol: clients recognise the miss by this message and resend with the text.
    expect(miss.body.errors[0].message).toBe('PersistedQueryNotFound');
    const registered = await apq(true);
    expect(registered.body.errors).toBeUndefined();
    const hit = await apq(false);
    expect(hit.body.errors).toBeUndefined();
    expect(hit.body.data).toEqual(registered.body.data);
  });

  it('usage: the counts admins read match a known sequence of calls, unregistered ones flagged (log mode)', async () => {
    const client = `usage-e2e-${crypto.randomUUID().slice(0, 8)}`;
    const headers = { 'apollographql-client-name': client, 'apollographql-client-version': '1.2.3' };
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema/operations/persisted-documents.json'), 'utf8'));
    const categoriesId = Object.keys(manifest).find((id) => /query Categories\b/.test(manifest[id]))!;
    // Three calls of a registered document by id, one unregistered text, one that fails.
    for (let i = 0; i < 3; i++) {
      const r = await call('/graphql', { headers, body: { documentId: categoriesId } });
      expect(r.body.errors).toBeUndefined();
    }
    const unregistered = await call('/graphql', { headers, body: { query: 'query Unlisted { categories { name } }' } });
    expect(unregistered.body.errors).toBeUndefined(); // log mode serves it
    const failing = await call('/graphql', { headers, body: { query: 'query Failing { course(id: "x") { nope } }' } });
    expect(failing.status).toBe(400);

    const rows = await eventually('the usage rows', async () => {
      const r = await gql(USAGE, { f: { client } }, admin.token);
      const usage = r.body.data?.operationUsage ?? [];
      const total = usage.reduce((n: number, u: any) => n + u.requests, 0);
      return total >= 5 ? usage : undefined;
    });
    const byName = Object.fromEntries(rows.map((u: any) => [u.operationName, u]));
    expect(byName.Categories).toMatchObject({
      clientVersion: '1.2.3',
      requests: 3,
      errors: 0,
      unregistered: 0,
      documentId: categoriesId,
    });
    expect(byName.Unlisted).toMatchObject({ requests: 1, errors: 0, unregistered: 1, documentId: null });
    expect(byName.Failing).toMatchObject({ requests: 1, errors: 1 });
    expect(rows.reduce((n: number, u: any) => n + u.requests, 0)).toBe(5);

    const learner = await person(e2e);
    const refused = await gql(USAGE, { f: { client } }, learner.token);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('enforce mode refuses unregistered documents from non-admins, and serves registered ones and admins', async () => {
    await e2e.platform.restart('gateway', { signal: 'SIGTERM', env: { GATEWAY_PERSISTED_DOCUMENTS: 'enforce' } });
    const refused = await call('/graphql', { body: { query: 'query Unlisted { categories { name } }' } });
    expect(refused.status).toBe(403);
    expect(refused.body.errors[0].extensions).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'PERSISTED_DOCUMENT_REQUIRED',
    });
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema/operations/persisted-documents.json'), 'utf8'));
    const [id, text] = Object.entries(manifest).find(([, d]) => /query Categories\b/.test(d as string))!;
    const byId = await call('/graphql', { body: { documentId: id } });
    expect(byId.body.errors).toBeUndefined();
    const byText = await call('/graphql', { body: { query: text } });
    expect(byText.body.errors).toBeUndefined();
    const asAdmin = await gql('query Unlisted { categories { name } }', {}, admin.token);
    expect(asAdmin.body.errors).toBeUndefined();
  });
});
