import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { contextDatabaseUrl, errorCode } from '@coursegraph/test-support';
import { authoring, outboxFor, startCourse, type Actor, type CourseHarness } from './harness.js';

let h: CourseHarness;
let a: ReturnType<typeof authoring>;
let owner: Actor;
let other: Actor;
beforeAll(async () => {
  h = await startCourse();
  a = authoring(h);
  owner = await h.actor('INSTRUCTOR');
  other = await h.actor('INSTRUCTOR');
});
afterAll(async () => {
  await h.close();
});

const SET = `mutation($id: ID!, $p: [ID!]!) { setPrerequisites(courseId: $id, prerequisiteIds: $p) { id draft { prerequisites { id } } prerequisites { id } } }`;
const set = (courseId: string, ids: string[], actor = owner) => h.gql(SET, { id: courseId, p: ids }, actor);
const draftEdges = async (courseId: string) =>
  (await h.app.db.coursePrerequisite.findMany({ where: { courseId } })).map((p) => p.prerequisiteId).sort();

const refused = async (courseId: string, ids: string[], message: RegExp) => {
  const before = await draftEdges(courseId);
  const res = await set(courseId, ids);
  expect(errorCode(res)).toBe('BAD_USER_INPUT');
  expect(res.body.errors![0]!.extensions!.field).toBe('prerequisiteIds');
  expect(res.body.errors![0]!.message).toMatch(message);
  expect(await draftEdges(courseId)).toEqual(before);
};

describe('setPrerequisites', () => {
  it('sets and replaces them in the draft; learners see them once published', async () => {
    const basics = await a.published(owner);
    const more = await a.published(other);
    const c = await a.published(owner);
    const res = await set(c.id, [basics.id, more.id, basics.id]);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.setPrerequisites.draft.prerequisites.map((p: any) => p.id).sort()).toEqual(
      [basics.id, more.id].sort(),
    );
    expect(res.body.data!.setPrerequisites.prerequisites).toEqual([]);
    await a.publish(owner, c.id);
    const seen = await h.ok<{ course: any }>(
      `query($id: ID!) { course(id: $id) { version prerequisites { id title } } }`,
      { id: c.id },
    );
    expect(seen.course.version).toBe(2);
    expect(seen.course.prerequisites.map((p: any) => p.id).sort()).toEqual([basics.id, more.id].sort());
    const updated = (await outboxFor(h, c.id)).find((e) => e.subject === 'course.course.updated');
    expect(updated!.payload.course.prerequisiteCourseIds.sort()).toEqual([basics.id, more.id].sort());

    expect((await set(c.id, [])).body.data!.setPrerequisites.draft.prerequisites).toEqual([]);
    expect(await draftEdges(c.id)).toEqual([]);
  });

  it('refuses the course itself', async () => {
    const c = await a.createCourse(owner);
    await refused(c.id, [c.id], /own prerequisite/);
  });

  it('refuses unknown courses, and other instructors’ unpublished drafts', async () => {
    const c = await a.createCourse(owner);
    const hidden = await a.createCourse(other);
    await refused(c.id, [crypto.randomUUID()], /No course/);
    await refused(c.id, [hidden.id], /No course/);
    // The caller's own draft is fine.
    const mine = await a.createCourse(owner);
    expect((await set(c.id, [mine.id])).body.errors).toBeUndefined();
  });

  it('refuses a direct or indirect cycle among drafts', async () => {
    const [x, y, z] = [await a.createCourse(owner), await a.createCourse(owner), await a.createCourse(owner)];
    expect((await set(y.id, [x.id])).body.errors).toBeUndefined(); // y needs x
    expect((await set(z.id, [y.id])).body.errors).toBeUndefined(); // z needs y
    await refused(x.id, [y.id], /already requires/);
    await refused(x.id, [z.id], /already requires/);
  });

  it('refuses a cycle closed through a published version even after its draft dropped the edge', async () => {
    const x = await a.published(owner);
    const y = await a.published(owner);
    expect((await set(y.id, [x.id])).body.errors).toBeUndefined();
    await a.publish(owner, y.id); // published: y needs x
    expect((await set(y.id, [])).body.errors).toBeUndefined(); // the draft no longer does
    await refused(x.id, [y.id], /already requires/);
  });

  it('an edit waits for a concurrent one, so two cannot each close half of a cycle', async () => {
    const x = await a.createCourse(owner);
    const y = await a.createCourse(owner);
    // Play the concurrent edit "y needs x" by hand: hold the graph lock, write the edge, and commit
    // only once our setPrerequisites(x, [y]) is queued behind the lock (or has already answered,
    // which only an unlocked check could do).
    const other = new pg.Client({ connectionString: contextDatabaseUrl('course') });
    await other.connect();
    try {
      await other.query('begin');
      await other.query(`select pg_advisory_xact_lock(hashtext('course.prerequisites'))`);
      await other.query('insert into course_prerequisites (course_id, prerequisite_id) values ($1, $2)', [y.id, x.id]);
      let answered = false;
      const pending = set(x.id, [y.id]).finally(() => (answered = true));
      for (;;) {
        const { rows } = await other.query(
          `select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`,
        );
        if (answered || rows[0].n > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await other.query('commit');
      const res = await pending;
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(await draftEdges(x.id)).toEqual([]);
    } finally {
      await other.end();
    }
  });

  it('publishing needs every prerequisite to be published', async () => {
    const draftPrereq = await a.createCourse(owner);
    const c = await a.publishable(owner);
    expect((await set(c.id, [draftPrereq.id])).body.errors).toBeUndefined();
    const res = await a.publish(owner, c.id);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.extensions!.field).toBe('prerequisiteIds');
    expect(await h.app.db.publishedCourse.count({ where: { courseId: c.id } })).toBe(0);
  });
});
