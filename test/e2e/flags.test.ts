/**
 * Feature flags through the one endpoint: admins alone read and change them; the tutor's kill
 * switch, flipped through the graph, reaches the ai process through flags.flag.changed, after which
 * askTutor is refused (SUBGRAPH_UNAVAILABLE, reason FEATURE_DISABLED) and writes nothing; switched
 * back on, the tutor answers again. The catalog-ranking experiment orders a signed-in learner's
 * catalog by enrolments once they are in its rollout, and course reports the exposures. How fast a
 * kill switch spreads is measured by test/bench/flags.mjs, not asserted here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import {
  contextDatabaseUrl,
  errorCode,
  eventually,
  person,
  publishCourse,
  startE2E,
  type E2E,
  type Person,
  type PublishedCourse,
} from '@coursegraph/test-support';

let e2e: E2E;
let admin: Person;
let instructor: Person;
let learner: Person;
let course: PublishedCourse;
let ai: pg.Client;

const ASK = `mutation($i: AskTutorInput!) { askTutor(input: $i) { id status } }`;
const SET_ENABLED = `mutation($k: String!, $e: Boolean!) { setFlagEnabled(key: $k, enabled: $e) { key enabled version updatedBy { id email } } }`;

beforeAll(async () => {
  // Exposure counts reach flags every half second instead of every 10 s.
  e2e = await startE2E('flags', { env: { FLAGS_EXPOSURE_REPORT_MS: '500' } });
  [admin, instructor, learner] = await Promise.all([
    person(e2e, 'ADMIN'),
    person(e2e, 'INSTRUCTOR'),
    person(e2e, 'LEARNER'),
  ]);
  course = await publishCourse(e2e.gql, instructor, { lessons: 1 });
  ai = new pg.Client({ connectionString: contextDatabaseUrl('ai', e2e.database) });
  await ai.connect();
});
afterAll(async () => {
  await ai?.end();
  await e2e?.platform.stop();
});

const ask = (message: string) => e2e.gql(ASK, { i: { lessonId: course.lessonIds[0], message } }, instructor.token);
const turns = async () =>
  Number((await ai.query('select count(*) from tutor_turns where user_id = $1', [instructor.userId])).rows[0].count);

describe('flags through the gateway', () => {
  it('lists the flags the code ships with to admins only', async () => {
    const res = await e2e.gql(`{ flags { key enabled defaultVariant } }`, {}, admin.token);
    expect(res.body.data!.flags).toEqual(
      expect.arrayContaining([
        { key: 'tutor', enabled: true, defaultVariant: 'on' },
        { key: 'catalog-ranking', enabled: true, defaultVariant: 'newest' },
      ]),
    );
    expect(errorCode(await e2e.gql(`{ flags { key } }`, {}, learner.token))).toBe('FORBIDDEN');
    expect(errorCode(await e2e.gql(SET_ENABLED, { k: 'tutor', e: false }, learner.token))).toBe('FORBIDDEN');
  });

  it('switches the tutor off everywhere, refusing askTutor without writing anything, and back on', async () => {
    // The ai process knows the lesson once course's events reached it.
    await eventually('the tutor answers', async () => (await ask('What is this lesson about?')).body.data?.askTutor);

    const off = await e2e.gql(SET_ENABLED, { k: 'tutor', e: false }, admin.token);
    expect(off.body.data!.setFlagEnabled).toMatchObject({
      key: 'tutor',
      enabled: false,
      updatedBy: { id: admin.userId, email: admin.email },
    });
    const refused = await eventually('askTutor refused', async () => {
      const res = await ask('Are you there?');
      return errorCode(res) === 'SUBGRAPH_UNAVAILABLE' ? res : null;
    });
    expect(refused.body.errors![0]!.extensions).toMatchObject({ reason: 'FEATURE_DISABLED', flag: 'tutor' });
    const before = await turns();
    expect(errorCode(await ask('Still there?'))).toBe('SUBGRAPH_UNAVAILABLE');
    expect(await turns()).toBe(before);

    const audit = await e2e.gql(
      `{ flagAudit(key: "tutor", first: 1) { action actor { id } before { enabled } after { enabled } } }`,
      {},
      admin.token,
    );
    expect(audit.body.data!.flagAudit).toEqual([
      { action: 'DISABLED', actor: { id: admin.userId }, before: { enabled: true }, after: { enabled: false } },
    ]);

    await e2e.gql(SET_ENABLED, { k: 'tutor', e: true }, admin.token);
    await eventually('the tutor answers again', async () => (await ask('Back?')).body.data?.askTutor);
  });
});

describe('the catalog ranking experiment', () => {
  const CATALOG = `{ catalog(first: 50) { edges { node { id } } } }`;
  const ids = async (token?: string, query = CATALOG) => {
    const res = await e2e.gql(query, {}, token);
    if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
    return res.body.data!.catalog.edges.map((e: { node: { id: string } }) => e.node.id) as string[];
  };

  it('orders a signed-in learner in the rollout by enrolments, and counts what each variant served', async () => {
    // `course` (from beforeAll) is older than `newer`; a learner enrols in the older one.
    const newer = await publishCourse(e2e.gql, instructor, { lessons: 1 });
    const enrolled = await e2e.gql(
      `mutation($c: ID!) { enrol(courseId: $c) { id } }`,
      { c: course.courseId },
      learner.token,
    );
    expect(enrolled.body.errors).toBeUndefined();
    await eventually('both courses listed', async () => (await ids()).includes(newer.courseId));
    const position = (list: string[]) => [list.indexOf(newer.courseId), list.indexOf(course.courseId)];

    // Shipped with the rollout at 0: today's order (newest first) for everyone.
    const [n, o] = position(await ids(learner.token));
    expect(n).toBeLessThan(o);

    const all = await e2e.gql(
      `mutation($i: UpdateFlagInput!) { updateFlag(input: $i) { version } }`,
      {
        i: {
          key: 'catalog-ranking',
          variants: [
            { key: 'newest', weight: 0 },
            { key: 'popular', weight: 100 },
          ],
          rolloutPercent: 100,
        },
      },
      admin.token,
    );
    expect(all.body.errors).toBeUndefined();
    await eventually('the most enrolled first for the learner', async () => {
      const [newerAt, olderAt] = position(await ids(learner.token));
      return olderAt < newerAt;
    });
    // Anonymous visitors have no subject to be in a rollout: newest first still; an explicit sort always wins.
    const [an, ao] = position(await ids());
    expect(an).toBeLessThan(ao);
    const explicit = position(
      await ids(learner.token, `{ catalog(first: 50, sort: NEWEST) { edges { node { id } } } }`),
    );
    expect(explicit[0]).toBeLessThan(explicit[1]!);

    const exposures = await eventually('course reported its exposures', async () => {
      const res = await e2e.gql(`{ flagExposures(key: "catalog-ranking") { variant count } }`, {}, admin.token);
      const rows = res.body.data?.flagExposures as { variant: string; count: number }[] | undefined;
      return rows?.some((r) => r.variant === 'popular') ? rows : null;
    });
    expect(exposures.find((r) => r.variant === 'popular')!.count).toBeGreaterThan(0);
  });
});
