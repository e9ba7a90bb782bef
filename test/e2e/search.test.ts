/**
 * Search end to end: a course published through the gateway reaches the Rust search subgraph as a
 * course event, and a misspelled query finds it, with its fields joined from course and the
 * instructor's name from identity.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type E2E,
  errorCode,
  eventually,
  person,
  privateNats,
  type PrivateNats,
  publishCourse,
  ROOT,
  startE2E,
} from '@coursegraph/test-support';

let e2e: E2E;
let nats: PrivateNats;
// The suite's own NATS and index folder, so the rebuild below can be pointed at them.
const indexDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-search-e2e-index-'));

beforeAll(async () => {
  nats = await privateNats();
  await nats.start();
  e2e = await startE2E('search', { nats, env: { SEARCH_INDEX_DIR: indexDir } });
});

afterAll(async () => {
  await e2e?.platform.stop();
  await nats?.dispose();
  fs.rmSync(indexDir, { recursive: true, force: true });
});

/** `node scripts/replay.mjs search search-courses` against the suite's NATS and index folder. */
function replaySearch() {
  const result = spawnSync(process.execPath, [path.join(ROOT, 'scripts/replay.mjs'), 'search', 'search-courses'], {
    env: { ...process.env, NATS_URL: nats.url, SEARCH_INDEX_DIR: indexDir, LOG_LEVEL: 'info' },
    encoding: 'utf8',
  });
  const logs = `${result.stdout}\n${result.stderr}`;
  const lines = logs
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  return { status: result.status, logs, rebuilt: lines.find((l) => l.message === 'index rebuilt') };
}

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
      return res.body.data?.search.edges.find(
        (e: any) => e.node.kind === 'COURSE' && e.node.course.id === course.courseId,
      );
    });
    expect(hit.node.course).toEqual({
      id: course.courseId,
      title: course.title,
      instructor: { name: instructor.name },
    });
    expect(hit.node.titleSnippet).toContain('<b>');
  });

  it('answers bad input with BAD_USER_INPUT, not a failure', async () => {
    for (const [q, first] of [
      ['', 5],
      ['x'.repeat(10_000), 5],
      ['title:foo AND (bar OR "', 5],
      ['rust', -1],
      ['rust', 1000],
    ] as const) {
      const res = await e2e.gql(SEARCH, { q, first });
      if (q.startsWith('title:')) expect(res.body.errors).toBeUndefined();
      else expect(errorCode(res), `${q.slice(0, 20)} / ${first}`).toBe('BAD_USER_INPUT');
    }
  });

  it('rebuilds the index from the course stream with scripts/replay.mjs, and serves it after a restart', async () => {
    const instructor = await person(e2e, 'INSTRUCTOR');
    const word = `Replayable${Math.random().toString(36).slice(2, 6).replace(/[0-9]/g, 'x')}`;
    const course = await publishCourse(e2e.gql, instructor, { title: `Rebuilding ${word} indexes` });
    const found = async () => {
      const res = await e2e.gql(SEARCH, { q: word, first: 5 });
      return res.body.data?.search.edges.some(
        (e: any) => e.node.kind === 'COURSE' && e.node.course.id === course.courseId,
      );
    };
    await eventually('the course to be searchable', found);

    // While the subgraph runs it owns the index: the rebuild refuses and changes nothing.
    const refused = replaySearch();
    expect(refused.status).toBe(1);
    expect(refused.logs).toContain('stop the search subgraph first');

    await e2e.platform.kill('search', 'SIGTERM');
    const replayed = replaySearch();
    expect(replayed.status, replayed.logs).toBe(0);
    // Every course published in this suite's platform so far, from the stream.
    expect(replayed.rebuilt.courses).toBeGreaterThanOrEqual(1);
    expect(replayed.rebuilt.last_sequence).toBeGreaterThanOrEqual(1);

    await e2e.platform.restart('search');
    expect(await found()).toBe(true);
    // It goes on following the stream after the rebuilt position.
    const next = await publishCourse(e2e.gql, instructor, { title: `After ${word} rebuild` });
    await eventually('a course published after the rebuild to be searchable', async () => {
      const res = await e2e.gql(SEARCH, { q: `${word} rebuild`, first: 5 });
      return res.body.data?.search.edges.some((e: any) => e.node.course.id === next.courseId);
    });
  });
});
