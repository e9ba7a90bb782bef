/**
 * `GET /internal/partner-access/<keyHash>`, served by identity's HTTP handler on a real socket: the
 * gateway's look-up of a partner key. Only a request signed with the internal secret is answered.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { persistedDocumentId, signInternalRequest } from '@coursegraph/service-kit';
import { startIdentity, type IdentityHarness } from './harness.js';
import { CATALOG, COURSE, REGISTER, createPartner, issueKey, manifestOf } from './partner-fixtures.js';

let h: IdentityHarness;
let server: Server;
let origin: string;
let admin: string;
beforeAll(async () => {
  h = await startIdentity();
  admin = (await h.admin()).accessToken;
  server = createServer(h.app.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await h.close();
});

const hashOf = (key: string) => createHash('sha256').update(key).digest('hex');
const pathOf = (keyHash: string) => `/internal/partner-access/${keyHash}`;

async function lookUp(
  path: string,
  headers: Record<string, string> = signInternalRequest(h.config.internalSigningSecret, path),
) {
  const res = await fetch(`${origin}${path}`, { headers });
  return { status: res.status, body: await res.json() };
}

describe('partner access look-up', () => {
  it('answers a live key with its partner, limits and documents', async () => {
    const partner = await createPartner(h, admin);
    const { key, apiKey } = await issueKey(h, admin, partner.id);
    await h.gql(REGISTER, { id: partner.id, manifest: manifestOf(CATALOG, COURSE) }, admin);
    const { status, body } = await lookUp(pathOf(hashOf(key)));
    expect(status).toBe(200);
    expect(body).toEqual({
      partner: { id: partner.id, name: partner.name, rateLimitPerMinute: 600, costBudgetPerMinute: 60000 },
      keyId: apiKey.id,
      documents: {
        [persistedDocumentId(CATALOG)]: {
          operationName: 'PartnerCatalog',
          operationType: 'query',
          document: CATALOG,
          cost: 7,
        },
        [persistedDocumentId(COURSE)]: {
          operationName: 'PartnerCourse',
          operationType: 'query',
          document: COURSE,
          cost: expect.any(Number),
        },
      },
    });
  });

  it('answers 404 for an unknown key and for a revoked one', async () => {
    expect(await lookUp(pathOf(hashOf('cgp_never-issued')))).toEqual({
      status: 404,
      body: { error: 'unknown or revoked key' },
    });
    const partner = await createPartner(h, admin);
    const { key, apiKey } = await issueKey(h, admin, partner.id);
    expect((await lookUp(pathOf(hashOf(key)))).status).toBe(200);
    await h.gql(`mutation($id: ID!) { revokePartnerApiKey(keyId: $id) { id } }`, { id: apiKey.id }, admin);
    expect(await lookUp(pathOf(hashOf(key)))).toEqual({ status: 404, body: { error: 'unknown or revoked key' } });
  });

  it('answers 401 without a signature, with a stale one, or one made for another path or secret', async () => {
    const partner = await createPartner(h, admin);
    const { key } = await issueKey(h, admin, partner.id);
    const path = pathOf(hashOf(key));
    const secret = h.config.internalSigningSecret;
    const refused = { status: 401, body: { error: 'a valid x-internal-signature is required' } };
    expect(await lookUp(path, {})).toEqual(refused);
    expect(await lookUp(path, signInternalRequest(secret, path, Date.now() - 5 * 60_000))).toEqual(refused);
    expect(await lookUp(path, signInternalRequest(secret, pathOf(hashOf('other'))))).toEqual(refused);
    expect(await lookUp(path, signInternalRequest(`${secret}-not-it`, path))).toEqual(refused);
  });

  it('answers 400 for a signed path that holds no key hash, and 405 to anything but GET', async () => {
    for (const bad of ['ABC', 'a'.repeat(63), 'A'.repeat(64), `${'a'.repeat(64)}/more`]) {
      const { status, body } = await lookUp(pathOf(bad));
      expect(status).toBe(400);
      expect(body.error).toMatch(/64 lowercase hex/);
    }
    const path = pathOf(hashOf('x'));
    const res = await fetch(`${origin}${path}`, {
      method: 'POST',
      headers: signInternalRequest(h.config.internalSigningSecret, path),
    });
    expect(res.status).toBe(405);
  });
});
