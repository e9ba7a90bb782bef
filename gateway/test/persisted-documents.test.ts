/**
 * The project's own persisted documents and APQ at the gateway (issue 17, point 3): a document
 * named by `documentId` (POST and GET, with its ETag), APQ in Redis (miss, registration, hit),
 * and GATEWAY_PERSISTED_DOCUMENTS: log mode serves and records an unregistered document, enforce
 * mode refuses it (never an admin's), and hostile parameters get clear refusals. Partners are in
 * partner-keys.test.ts; what runs is in support/persisted-documents-harness.ts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  FIRST_PARTY,
  calls,
  call,
  errorOf,
  getWith,
  idOf,
  identityStandIn,
  postJson,
  startHarness,
  type Harness,
  type IdentityStandIn,
} from './support/persisted-documents-harness.js';

let identity: IdentityStandIn;
let off: Harness;
let log: Harness;
let enforce: Harness;

beforeAll(async () => {
  identity = await identityStandIn();
  [off, log, enforce] = await Promise.all(
    (['off', 'log', 'enforce'] as const).map((mode) => startHarness({ mode, identityUrl: identity.url })),
  );
});

afterAll(async () => {
  await Promise.all([off, log, enforce].map((h) => h?.close()));
  await identity?.close();
});

beforeEach(() => {
  for (const key of Object.keys(calls)) delete calls[key];
});

const HELLO_ID = idOf(FIRST_PARTY.hello);
/** Not in the first-party manifest. */
const UNREGISTERED = 'query Sneaky { secret }';
const apq = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });

describe('documents named by id', () => {
  it('runs a first-party document by POST documentId, noted with its id', async () => {
    const res = await postJson(off.url, { documentId: HELLO_ID, variables: { name: 'Ada' } });
    expect(res.body).toEqual({ data: { hello: 'hello Ada' } });
    expect(off.noted.at(-1)).toMatchObject({ documentId: HELLO_ID, partnerId: '', unregistered: false });
  });

  it('runs one by GET with an ETag: public when anonymous, private when signed in; 304 on a match', async () => {
    const anonymous = await getWith(off.url, { documentId: HELLO_ID, variables: { name: 'Bo' } });
    expect(anonymous.body).toEqual({ data: { hello: 'hello Bo' } });
    expect(anonymous.headers.get('cache-control')).toBe('public, max-age=60');
    expect(anonymous.headers.get('vary')).toMatch(/authorization/i);
    const etag = anonymous.headers.get('etag')!;
    const revalidated = await getWith(
      off.url,
      { documentId: HELLO_ID, variables: { name: 'Bo' } },
      { 'if-none-match': `W/${etag}` },
    );
    expect(revalidated.status).toBe(304);
    expect(revalidated.text).toBe('');

    const { token } = await off.issuer.token('LEARNER');
    const signedIn = await getWith(off.url, { documentId: HELLO_ID }, { authorization: `Bearer ${token}` });
    expect(signedIn.status).toBe(200);
    expect(signedIn.headers.get('cache-control')).toBe('private, no-cache');
    expect(signedIn.headers.get('etag')).toMatch(/^"/);
  });

  it('refuses an unknown id, a malformed one, an id with a query, and a mutation by GET', async () => {
    const unknown = await postJson(off.url, { documentId: idOf(UNREGISTERED) });
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown)).toMatchObject({ code: 'NOT_FOUND', reason: 'PERSISTED_DOCUMENT_NOT_FOUND' });
    const unknownByGet = await getWith(off.url, { documentId: idOf(UNREGISTERED) });
    expect(unknownByGet.status).toBe(404);
    expect(unknownByGet.headers.get('cache-control')).toBe('no-store');

    const malformed = await getWith(off.url, { documentId: '../../etc/passwd' });
    expect(malformed.status).toBe(400);
    expect(errorOf(malformed)).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'MALFORMED_DOCUMENT_ID' });

    const both = await postJson(off.url, { documentId: HELLO_ID, query: FIRST_PARTY.hello });
    expect(errorOf(both)).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'CONFLICTING_DOCUMENT' });

    const mutationByGet = await getWith(off.url, { documentId: idOf(FIRST_PARTY.rename), variables: { title: 'x' } });
    expect(mutationByGet.status).toBe(405);
    expect(calls).toEqual({});
  });
});

describe('APQ (Redis)', () => {
  it('misses, registers on the text, then hits by hash alone, from Redis', async () => {
    const text = `query Apq${Date.now()} { hello(name: "apq") }`;
    const hash = idOf(text);
    const miss = await postJson(off.url, { extensions: apq(hash) });
    expect(miss.body.errors![0]!.message).toBe('PersistedQueryNotFound');
    const registered = await postJson(off.url, { query: text, extensions: apq(hash) });
    expect(registered.body).toEqual({ data: { hello: 'hello apq' } });
    expect(await off.redis.get(`${off.keyPrefix}apq:${hash}`)).toBe(text);
    expect(await off.redis.ttl(`${off.keyPrefix}apq:${hash}`)).toBeGreaterThan(0);
    const hit = await getWith(off.url, { extensions: apq(hash) });
    expect(hit.body).toEqual({ data: { hello: 'hello apq' } });
    // A text that is not the hash's is refused and registers nothing.
    const mismatch = await postJson(off.url, { query: '{ secret }', extensions: apq(idOf('{ hello }')) });
    expect(mismatch.status).toBe(400);
    expect(await off.redis.get(`${off.keyPrefix}apq:${idOf('{ hello }')}`)).toBeNull();
    expect(calls).toEqual({ hello: 2 });
  });

  it('in enforce mode registers only first-party documents', async () => {
    const refused = await postJson(enforce.url, { query: UNREGISTERED, extensions: apq(idOf(UNREGISTERED)) });
    expect(errorOf(refused).reason).toBe('PERSISTED_DOCUMENT_REQUIRED');
    expect(await enforce.redis.get(`${enforce.keyPrefix}apq:${idOf(UNREGISTERED)}`)).toBeNull();

    const registered = await postJson(enforce.url, { query: FIRST_PARTY.hello, extensions: apq(HELLO_ID) });
    expect(registered.body).toEqual({ data: { hello: 'hello world' } });
    const hit = await postJson(enforce.url, { extensions: apq(HELLO_ID), variables: { name: 'Cy' } });
    expect(hit.body).toEqual({ data: { hello: 'hello Cy' } });
    expect(calls).toEqual({ hello: 2 });
  });
});

describe('GATEWAY_PERSISTED_DOCUMENTS', () => {
  it('off: serves anything, noting first-party texts by id', async () => {
    expect((await postJson(off.url, { query: UNREGISTERED })).body).toEqual({ data: { secret: 's3cret' } });
    expect(off.noted.at(-1)).toMatchObject({ documentId: '', unregistered: false });
    await postJson(off.url, { query: FIRST_PARTY.hello });
    expect(off.noted.at(-1)).toMatchObject({ documentId: HELLO_ID, unregistered: false });
  });

  it('log: serves an unregistered document, notes it and logs the operation, client and hash', async () => {
    const res = await postJson(log.url, { query: UNREGISTERED }, { 'apollographql-client-name': '  web-app  ' });
    expect(res.body).toEqual({ data: { secret: 's3cret' } });
    expect(log.noted.at(-1)).toMatchObject({ unregistered: true, documentId: '' });
    expect(log.logs.filter((l) => l.msg === 'unregistered document').at(-1)).toMatchObject({
      operationName: 'Sneaky',
      clientName: 'web-app',
      documentHash: idOf(UNREGISTERED),
      refused: false,
    });
    // A first-party text, exactly as registered or reformatted, is registered.
    await postJson(log.url, { query: FIRST_PARTY.hello });
    expect(log.noted.at(-1)).toMatchObject({ documentId: HELLO_ID, unregistered: false });
    await postJson(log.url, { query: 'query Hello($name: String) { hello(name: $name) }' });
    expect(log.noted.at(-1)).toMatchObject({ documentId: HELLO_ID, unregistered: false });
    expect(calls).toEqual({ secret: 1, hello: 2 });
  });

  it('enforce: refuses an unregistered document before it runs, serves first-party ones', async () => {
    const { token } = await enforce.issuer.token('LEARNER');
    for (const auth of [{}, { authorization: `Bearer ${token}` }]) {
      const refused = await postJson(enforce.url, { query: UNREGISTERED }, auth);
      expect(refused.status).toBe(403);
      expect(errorOf(refused)).toMatchObject({ code: 'FORBIDDEN', reason: 'PERSISTED_DOCUMENT_REQUIRED' });
      expect(enforce.noted.at(-1)).toMatchObject({ unregistered: true });
    }
    expect(enforce.logs.filter((l) => l.msg === 'unregistered document').at(-1)).toMatchObject({ refused: true });
    const byText = await postJson(
      enforce.url,
      { query: FIRST_PARTY.hello, variables: { name: 'Di' } },
      { authorization: `Bearer ${token}` },
    );
    expect(byText.body).toEqual({ data: { hello: 'hello Di' } });
    const byId = await postJson(enforce.url, { documentId: HELLO_ID });
    expect(byId.body).toEqual({ data: { hello: 'hello world' } });
    expect(calls).toEqual({ hello: 2 });
  });

  it('enforce: an admin (the explorer) is never refused', async () => {
    const { token } = await enforce.issuer.token('ADMIN');
    const res = await postJson(enforce.url, { query: UNREGISTERED }, { authorization: `Bearer ${token}` });
    expect(res.body).toEqual({ data: { secret: 's3cret' } });
    expect(enforce.noted.at(-1)).toMatchObject({ unregistered: false });
  });
});

describe('hostile parameters', () => {
  it('refuses variables that are not JSON, or not an object, with 400', async () => {
    const notJson = await call(`${off.url}?documentId=${HELLO_ID}&variables=%7Bname`, {
      headers: { accept: 'application/graphql-response+json' },
    });
    expect(notJson.status).toBe(400);
    expect(errorOf(notJson)).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'MALFORMED_PARAMETER' });
    const notObject = await postJson(off.url, { documentId: HELLO_ID, variables: '{"name":"x"}' });
    expect(notObject.status).toBe(400);
    expect(errorOf(notObject).code).toBe('BAD_USER_INPUT');
    const notJsonBody = await call(off.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: `{"documentId":"${HELLO_ID}",`,
    });
    expect(notJsonBody.status).toBe(400);
    expect(calls).toEqual({});
  });

  it('refuses 10 MB of variables: 413 by POST, and the URL is refused by GET', async () => {
    const huge = 'x'.repeat(10 * 1024 * 1024);
    const posted = await postJson(off.url, { documentId: HELLO_ID, variables: { name: huge } });
    expect(posted.status).toBe(413);
    expect(errorOf(posted)).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'PAYLOAD_TOO_LARGE' });
    // Node's HTTP parser refuses a request line this long before the gateway sees it.
    const res = await fetch(
      `${off.url}?documentId=${HELLO_ID}&variables=${encodeURIComponent(JSON.stringify({ name: huge.slice(0, 100_000) }))}`,
    );
    expect(res.status).toBe(431);
    expect(calls).toEqual({});
  });
});
