// The supergraph guard (`npm run check:supergraph`): a supergraph may not break an operation someone
// runs. Every document of the project's manifest (schema/operations/persisted-documents.json) and
// every document partners registered (identity.persisted_documents, when the identity database
// answers) is judged against the supergraph's API schema with the same check identity applies at
// registration (service-kit's checkDocument). Each broken operation is named with its owner, the
// problems (graphql's validation messages name the field) and, when identity.operation_usage
// answers, its requests in the last 30 days: how many calls the change would break.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { ROOT, contextDatabaseUrl, env } from './env.mjs';

export const FIRST_PARTY_MANIFEST = path.join(ROOT, 'schema/operations/persisted-documents.json');
/** The usage window printed beside a broken operation. */
const USAGE_DAYS = 30;

/** service-kit as built (npm run build), as the gateway and identity run it. */
async function serviceKit() {
  const file = path.join(ROOT, 'packages/service-kit/dist/index.js');
  if (!fs.existsSync(file)) throw new Error('packages/service-kit/dist not found: run `npm run build` first');
  return import(pathToFileURL(file).href);
}

/** identity's database: IDENTITY_DATABASE_URL, or the URL the scripts build for identity. */
export const identityDatabaseUrl = () => env('IDENTITY_DATABASE_URL', contextDatabaseUrl('identity'));

/** Every partner's registered documents, or `{ unreachable: reason }` when the database does not answer. */
async function partnerDocuments(client) {
  const { rows } = await client.query(
    `SELECT d.partner_id, p.name AS partner_name, d.document_id, d.operation_name, d.document
       FROM identity.persisted_documents d JOIN identity.partners p ON p.id = d.partner_id
      ORDER BY p.name, d.operation_name, d.document_id`,
  );
  return rows.map((r) => ({
    owner: `partner ${r.partner_name} (${r.partner_id})`,
    partnerId: r.partner_id,
    id: r.document_id,
    operationName: r.operation_name,
    document: r.document,
  }));
}

/** Requests per (partner id, document id) in the last USAGE_DAYS days, for the given documents. */
async function recentRequests(client, documents) {
  const { rows } = await client.query(
    `SELECT partner_id, document_id, sum(requests)::text AS requests
       FROM identity.operation_usage
      WHERE hour >= now() - make_interval(days => $1) AND document_id = ANY($2::text[])
      GROUP BY partner_id, document_id`,
    [USAGE_DAYS, documents.map((d) => d.id)],
  );
  return new Map(rows.map((r) => [`${r.partner_id}/${r.document_id}`, Number(r.requests)]));
}

/**
 * Judges every known operation against `supergraphSdl`. Returns `{ checked, broken, notes }`:
 * `broken` lists `{ owner, operationName, id, problems, requests? }`, `notes` one line per source
 * that could not be read (a fresh clone has no identity database, and no registrations to break).
 */
export async function guardSupergraph(supergraphSdl, { databaseUrl = identityDatabaseUrl() } = {}) {
  const { apiSchemaOf, checkDocument, costTableFromSdl } = await serviceKit();
  const apiSchema = apiSchemaOf(supergraphSdl);
  const costTable = costTableFromSdl(supergraphSdl);
  const notes = [];

  const firstParty = Object.entries(JSON.parse(fs.readFileSync(FIRST_PARTY_MANIFEST, 'utf8'))).map(
    ([id, document]) => ({ owner: 'schema/operations', partnerId: '', id, operationName: null, document }),
  );
  let client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  let partners = [];
  try {
    await client.connect();
    partners = await partnerDocuments(client);
  } catch (err) {
    notes.push(`identity database not reachable (${err.message}): partners' registered documents not checked`);
    await client.end().catch(() => {});
    client = null;
  }

  const broken = [];
  const documents = [...firstParty, ...partners];
  for (const doc of documents) {
    // Validity, not price: the limits of the moment are the gateway's business at run time.
    const check = checkDocument(apiSchema, costTable, doc.id, doc.document, { maxCost: Number.POSITIVE_INFINITY });
    if (!check.ok)
      broken.push({
        owner: doc.owner,
        partnerId: doc.partnerId,
        operationName: check.operationName ?? doc.operationName ?? '(unnamed)',
        id: doc.id,
        problems: check.problems,
      });
  }

  if (client) {
    try {
      if (broken.length) {
        const requests = await recentRequests(client, broken);
        for (const b of broken) b.requests = requests.get(`${b.partnerId}/${b.id}`) ?? 0;
      }
    } catch (err) {
      notes.push(`identity.operation_usage not readable (${err.message}): no usage counts`);
    } finally {
      await client.end().catch(() => {});
    }
  }
  return { checked: { firstParty: firstParty.length, partners: partners.length }, broken, notes };
}

/** The report's lines: one per broken operation and problem. */
export function describeBroken(broken) {
  return broken.flatMap((b) => [
    `  - ${b.operationName} (${b.owner}, id ${b.id.slice(0, 12)}…)` +
      (b.requests === undefined ? '' : `: ${b.requests} requests in the last ${USAGE_DAYS} days`),
    ...b.problems.map((p) => `      ${p}`),
  ]);
}
