/**
 * The supergraph guard (`npm run check:supergraph`, scripts/lib/supergraph-guard.mjs): a supergraph
 * that removes a field fails the check, naming each broken operation (the project's own and a
 * partner's registered one), its owner, the field and its recent requests; the committed supergraph
 * passes; without the identity database it says so and still checks the project's own operations.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, contextDatabaseUrl, runNode } from '@coursegraph/test-support';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SUPERGRAPH = path.join(ROOT, 'schema/supergraph.graphql');
const partnerId = crypto.randomUUID();
const partnerName = `guard-test-${partnerId.slice(0, 8)}`;
const manifestId = crypto.randomUUID();
const document = 'query PartnerCourseSummary($slug: String!) { course(slug: $slug) { id title summary } }';
const documentId = crypto.createHash('sha256').update(document).digest('hex');
const db = new pg.Client({ connectionString: contextDatabaseUrl('identity') });
let tmp: string;

/** The committed supergraph without `Course.summary`: a change that breaks whoever selects it. */
function supergraphWithoutCourseSummary(): string {
  const sdl = fs.readFileSync(SUPERGRAPH, 'utf8');
  const start = sdl.indexOf('\ntype Course\n');
  const end = sdl.indexOf('\n}', start);
  const block = sdl.slice(start, end).replace(/\n {2}summary: [^\n]*/, '');
  expect(block).not.toContain('summary');
  return sdl.slice(0, start) + block + sdl.slice(end);
}

const check = (supergraphPath: string, env: NodeJS.ProcessEnv = {}) =>
  runNode('scripts/compose.mjs', ['--check'], { ...process.env, SUPERGRAPH_PATH: supergraphPath, ...env });

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'supergraph-guard-'));
  await db.connect();
  await db.query(
    `INSERT INTO identity.partners (id, name, rate_limit_per_minute, cost_budget_per_minute) VALUES ($1, $2, 60, 10000)`,
    [partnerId, partnerName],
  );
  await db.query(`INSERT INTO identity.partner_manifests (id, partner_id, document_count) VALUES ($1, $2, 1)`, [
    manifestId,
    partnerId,
  ]);
  await db.query(
    `INSERT INTO identity.persisted_documents (partner_id, document_id, manifest_id, operation_name, operation_type, document, cost)
     VALUES ($1, $2, $3, 'PartnerCourseSummary', 'query', $4, 2)`,
    [partnerId, documentId, manifestId, document],
  );
  // Two hours of its usage inside the 30-day window and one outside it.
  for (const [hoursAgo, requests] of [
    [2, 5],
    [30, 7],
    [24 * 40, 1000],
  ])
    await db.query(
      `INSERT INTO identity.operation_usage
         (hour, client, client_version, partner_id, operation_name, document_id, requests, errors, unregistered, latency_ms_total, latency_buckets)
       VALUES (date_trunc('hour', now()) - make_interval(hours => $1), $2, '', $3, 'PartnerCourseSummary', $4, $5, 0, 0, 0, '{}')`,
      [hoursAgo, partnerName, partnerId, documentId, requests],
    );
});

afterAll(async () => {
  await db.query(`DELETE FROM identity.operation_usage WHERE partner_id = $1`, [partnerId]);
  await db.query(`DELETE FROM identity.persisted_documents WHERE partner_id = $1`, [partnerId]);
  await db.query(`DELETE FROM identity.partner_manifests WHERE partner_id = $1`, [partnerId]);
  await db.query(`DELETE FROM identity.partners WHERE id = $1`, [partnerId]);
  await db.end();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('npm run check:supergraph', () => {
  it('fails on a supergraph that breaks operations, naming each one, its owner, the field and its requests', async () => {
    const candidate = path.join(tmp, 'supergraph.graphql');
    fs.writeFileSync(candidate, supergraphWithoutCourseSummary());
    const { code, stderr } = await check(candidate);
    expect(code).toBe(1);
    const partnerLine = `PartnerCourseSummary (partner ${partnerName} (${partnerId}), id ${documentId.slice(0, 12)}…)`;
    expect(stderr).toContain(`${partnerLine}: 12 requests in the last 30 days`);
    // The project's own operations that select it, with no usage recorded in this database.
    expect(stderr).toMatch(/CoursePage \(schema\/operations, id [0-9a-f]{12}…\): 0 requests in the last 30 days/);
    expect(stderr).toContain('Cannot query field "summary" on type "Course".');
    // Operations that do not select it are not listed.
    expect(stderr).not.toContain('Categories (');
  });

  it('passes on the committed supergraph, the partner document included', async () => {
    const { code, stdout, stderr } = await check(SUPERGRAPH);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/runs all \d+ first-party and [1-9]\d* partner persisted operations/);
  });

  it('says in one line when the identity database does not answer, and still checks the project operations', async () => {
    const candidate = path.join(tmp, 'supergraph.graphql');
    fs.writeFileSync(candidate, supergraphWithoutCourseSummary());
    const { code, stdout, stderr } = await check(candidate, {
      IDENTITY_DATABASE_URL: 'postgres://nobody:nothing@127.0.0.1:1/none',
    });
    expect(code).toBe(1);
    expect(stdout).toMatch(/identity database not reachable \(.+\): partners' registered documents not checked/);
    expect(stderr).toContain('CoursePage (schema/operations');
    expect(stderr).not.toContain('PartnerCourseSummary');
  });
});
