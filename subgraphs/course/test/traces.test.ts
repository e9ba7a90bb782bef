/**
 * Course's traceparent, now from the kit's bootstrap: archiving carries the caller's trace like
 * publishing does (publishing.test.ts), and a malformed traceparent is ignored: the publication
 * goes through and its event starts a trace of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CourseEvents } from '@coursegraph/contracts';
import { isTraceparent, newTraceparent } from '@coursegraph/service-kit';
import { authoring, outboxFor, startCourse, type Actor, type CourseHarness } from './harness.js';

let h: CourseHarness;
let a: ReturnType<typeof authoring>;
let owner: Actor;
beforeAll(async () => {
  h = await startCourse();
  a = authoring(h);
  owner = await h.actor('INSTRUCTOR');
});
afterAll(async () => {
  await h.close();
});

/** POSTs an operation as the owner with a traceparent header; fails the test on any error. */
async function traced(query: string, variables: Record<string, unknown>, traceparent: string) {
  const res = await h.app.yoga.fetch('http://course.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent, authorization: `Bearer ${owner.token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(`unexpected errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

const PUBLISH = `mutation($id: ID!) { publishCourse(courseId: $id) { version } }`;
const ARCHIVE = `mutation($id: ID!) { archiveCourse(courseId: $id) { status } }`;

describe('traces', () => {
  it("carries the caller's traceparent into the archived event", async () => {
    const c = await a.published(owner);
    const trace = newTraceparent();
    await traced(ARCHIVE, { id: c.id }, trace);
    const archived = (await outboxFor(h, c.id)).filter((e) => e.subject === CourseEvents.archived.subject);
    expect(archived.map((e) => e.traceparent)).toEqual([trace]);
  });

  it('ignores a malformed traceparent: the course is published and its event starts a trace of its own', async () => {
    const c = await a.publishable(owner);
    const malformed = '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01';
    expect((await traced(PUBLISH, { id: c.id }, malformed)).publishCourse.version).toBe(1);
    const events = await outboxFor(h, c.id);
    expect(events.map((e) => e.subject)).toEqual([CourseEvents.published.subject]);
    expect(events[0]!.traceparent).not.toBe(malformed);
    expect(isTraceparent(events[0]!.traceparent)).toBe(true);
  });
});
