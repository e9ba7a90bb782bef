/**
 * Search end to end: a course published through the gateway reaches the Rust search subgraph as a
 * course event, and a misspelled query finds it, with its fields joined from course and the
 * instructor's name from identity.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode } from '../support/graphql.js';
import { eventually, person, publishCourse, startE2E, type E2E } from '../support/journeys.js';

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E('search');
});

afterAll(async () => {
  await e2e?.platform.stop();
});

const SEARCH = `query($q: String!, $first: Int) { search(query: $q, first: $first) {
  totalCount edges { node { kind score titleSnippet course { id title instructor { name } } } } } }`;

describe('search through the gateway', () => {
  it('finds a just-published course by a misspelled word, joining course and identity fields', async () => {
    const instructor = await person(e2e, 'INSTRUCTOR');
    const word = `Kubernetes${Math.random().toString(36).slice(2, 6)}`;
    const course = await publishCourse(e2e.gql, instructor, { title: `Orchestrating ${word} clusters` });
    const misspelled = word.slice(0, 3) + word.slice(4); // one letter dropped: one typo
    const hit = await eventually('the course to be searchable', async () => {
      const res = await e2e.gql(SEARCH, { q: misspelled, first: 5 });
      return res.body.data?.search.edges.find((e: any) => e.node.kind === 'COURSE' && e.node.course.id === course.courseId);
    });
    expect(hit.node.course).toEqual({ id: course.courseId, title: course.title, instructor: { name: instructor.name } });
    expect(hit.node.titleSnippet).toContain('<b>');
  });

  it('answers bad input with BAD_USER_INPUT, not a failure', async () => {
    for (const [q, first] of [['', 5], ['x'.repeat(10_000), 5], ['title:foo AND (bar OR "', 5], ['rust', -1], ['rust', 1000]] as const) {
      const res = await e2e.gql(SEARCH, { q, first });
      if (q.startsWith('title:')) expect(res.body.errors).toBeUndefined();
      else expect(errorCode(res), `${q.slice(0, 20)} / ${first}`).toBe('BAD_USER_INPUT');
    }
  });
});
