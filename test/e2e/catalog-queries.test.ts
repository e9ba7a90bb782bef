/**
 * No N+1: the catalog page with instructor names, module and lesson counts and enrollment counts
 * costs a constant number of SQL queries per subgraph, whatever the page size. Each subgraph
 * connects as its own PostgreSQL role, so pg_stat_statements counts its statements separately; the
 * platform runs on a database of this test's own, so no other suite's queries are counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { postgresAdminUrl } from '../../scripts/lib/env.mjs';
import { eventually, person, publishCourse, startE2E, type E2E, type Gql } from '../support/journeys.js';

const ROLES = ['cg_identity', 'cg_course', 'cg_enrollment'];

let e2e: E2E;
let gql: Gql;
let admin: pg.Client;

const CATALOG = `query($first: Int!) { catalog(first: $first) { totalCount edges { node {
  id title price { amountMinor currency } instructor { id name } moduleCount lessonCount enrollmentCount } } } }`;

/** Statements per role in this test's database, leaving out the event workers' background polling. */
async function statementsByRole(): Promise<Record<string, number>> {
  const { rows } = await admin.query(
    `select r.rolname as role, coalesce(sum(s.calls), 0)::int as calls
       from pg_stat_statements s join pg_roles r on r.oid = s.userid join pg_database d on d.oid = s.dbid
      where d.datname = $1 and r.rolname = any($2)
        and s.query !~* '(outbox_events|processed_events|^\\s*(begin|commit|rollback|listen|select 1\\b|select pg_notify))'
      group by r.rolname`,
    [e2e.database, ROLES],
  );
  return Object.fromEntries(ROLES.map((role) => [role, rows.find((r) => r.role === role)?.calls ?? 0]));
}

async function queriesFor(first: number): Promise<Record<string, number>> {
  // Warm once (plans, prepared statements), then count a second identical request.
  await gql(CATALOG, { first });
  const before = await statementsByRole();
  const res = await gql(CATALOG, { first });
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data!.catalog.edges).toHaveLength(first);
  const after = await statementsByRole();
  return Object.fromEntries(ROLES.map((role) => [role, after[role]! - before[role]!]));
}

beforeAll(async () => {
  e2e = await startE2E('queries');
  gql = e2e.gql;
  const adminUrl = new URL(postgresAdminUrl());
  adminUrl.pathname = `/${e2e.database}`;
  admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  await admin.query('create extension if not exists pg_stat_statements');


  // 55 published courses by 5 instructors, some with learners.
  const instructors = await Promise.all(Array.from({ length: 5 }, () => person(e2e, 'INSTRUCTOR')));
  const courses = [];
  for (let i = 0; i < 55; i++) courses.push(await publishCourse(gql, instructors[i % 5]!, { lessons: 1 + (i % 3) }));
  const learners = await Promise.all(Array.from({ length: 3 }, () => person(e2e)));
  for (const course of courses.slice(0, 10)) {
    for (const learner of learners) {
      await eventually('free enrolment', async () => {
        const res = await gql(`mutation($c: ID!) { enrol(courseId: $c) { id } }`, { c: course.courseId }, learner.token);
        return res.body.data?.enrol;
      });
    }
  }
}, 300_000);

afterAll(async () => {
  await e2e?.platform.stop();
  await admin?.end();
});

describe('the catalog through the gateway', () => {
  it('costs the same number of SQL queries per subgraph for 5 and for 50 courses', async () => {
    const small = await queriesFor(5);
    const large = await queriesFor(50);
    console.log(`SQL statements per catalog request, by subgraph role: first=5 ${JSON.stringify(small)}; first=50 ${JSON.stringify(large)}`);
    expect(large).toEqual(small);
    for (const role of ROLES) expect(small[role]).toBeGreaterThan(0);
  });
});
