/**
 * The breaking-change check (scripts/lib/breaking-changes.mjs, run by `npm run check:supergraph`):
 * against a release made from the committed supergraph, removing a field fails and names it; the
 * same removal passes once the release had it `@deprecated` with a removal date that has passed,
 * and not before; an added field passes; a type change fails whatever its deprecation.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, runNode } from '@coursegraph/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { breakingChanges, checkAgainstLatestRelease, latestRelease } from '../scripts/lib/breaking-changes.mjs';

const COMMITTED = fs.readFileSync(path.join(ROOT, 'schema/supergraph.graphql'), 'utf8');

/** `sdl` with the line of `field` in `type Course` replaced by `replacement` ('' removes it). */
function editCourseField(sdl: string, field: string, replace: (line: string) => string): string {
  const start = sdl.indexOf('\ntype Course\n');
  const end = sdl.indexOf('\n}\n', start);
  const line = new RegExp(`\\n  ${field}: [^\\n]*`);
  const block = sdl.slice(start, end);
  expect(block).toMatch(line);
  return sdl.slice(0, start) + block.replace(line, (l) => replace(l)) + sdl.slice(end);
}
const withoutTags = (sdl: string) => editCourseField(sdl, 'tags', () => '');
const deprecatedTags = (reason: string) =>
  editCourseField(COMMITTED, 'tags', (l) => `${l} @deprecated(reason: ${JSON.stringify(reason)})`);

describe('the breaking-change check against the last release', () => {
  it('fails a removed field, naming it', async () => {
    const { breaking, allowed } = await breakingChanges(withoutTags(COMMITTED), COMMITTED, { today: '2026-12-07' });
    expect(allowed).toEqual([]);
    expect(breaking).toEqual([
      {
        coordinate: 'Course.tags',
        message: "Field 'tags' was removed from object type 'Course'",
        why: 'Course.tags was not @deprecated in the release',
      },
    ]);
  });

  it('allows the same removal once its deprecation has passed its removal date, and not before', async () => {
    const release = deprecatedTags('Use the category. Removal after 2027-03-01.');
    const candidate = withoutTags(release);
    const after = await breakingChanges(candidate, release, { today: '2027-03-02' });
    expect(after.breaking).toEqual([]);
    expect(after.allowed.map((c: { coordinate: string }) => c.coordinate)).toEqual(['Course.tags']);

    for (const today of ['2027-02-01', '2027-03-01']) {
      const before = await breakingChanges(candidate, release, { today });
      expect(before.breaking).toEqual([
        expect.objectContaining({ coordinate: 'Course.tags', why: 'it is deprecated until 2027-03-01' }),
      ]);
    }
    // A deprecation without a date gives no removal date to pass.
    const undated = deprecatedTags('Use the category.');
    const { breaking } = await breakingChanges(withoutTags(undated), undated, { today: '2030-01-01' });
    expect(breaking[0].why).toMatch(/states no "Removal after YYYY-MM-DD"/);
  });

  it('passes an added field, and fails a changed type even when deprecated', async () => {
    const added = editCourseField(COMMITTED, 'tags', (l) => `${l}\n  subtitle: String @join__field(graph: COURSE)`);
    expect(await breakingChanges(added, COMMITTED, { today: '2026-12-07' })).toEqual({ breaking: [], allowed: [] });

    const release = deprecatedTags('Use the category. Removal after 2027-03-01.');
    const retyped = editCourseField(release, 'tags', () => '\n  tags: String @join__field(graph: COURSE)');
    const { breaking } = await breakingChanges(retyped, release, { today: '2030-01-01' });
    expect(breaking.map((c: { coordinate: string }) => c.coordinate)).toEqual(['Course.tags']);
    expect(breaking[0].message).toMatch(/changed type/);
  });
});

describe('npm run check:supergraph compares with the newest release in schema/releases', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'breaking-changes-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('has a release, and the committed supergraph has no breaking change against it', async () => {
    const latest = latestRelease();
    expect(latest).not.toBeNull();
    const { ok, lines } = await checkAgainstLatestRelease(COMMITTED);
    expect(lines.join('\n')).toContain(`none against the release of ${latest.date}`);
    expect(ok).toBe(true);
  });

  it('picks the newest release file of a directory', async () => {
    const dir = path.join(tmp, 'releases');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, '2026-01-01.graphql'), withoutTags(COMMITTED));
    fs.writeFileSync(path.join(dir, '2026-06-01.graphql'), COMMITTED);
    fs.writeFileSync(path.join(dir, 'README.md'), 'not a release');
    expect(latestRelease(dir).date).toBe('2026-06-01');
    const { ok, lines } = await checkAgainstLatestRelease(withoutTags(COMMITTED), { dir, today: '2026-12-07' });
    expect(ok).toBe(false);
    expect(lines.at(-1)).toBe(
      "  - Course.tags: Field 'tags' was removed from object type 'Course' (Course.tags was not @deprecated in the release)",
    );
  });

  it('fails the command for a candidate that removes a field, naming it', async () => {
    const candidate = path.join(tmp, 'candidate.graphql');
    fs.writeFileSync(candidate, withoutTags(COMMITTED));
    const { code, stderr } = await runNode('scripts/compose.mjs', ['--check'], {
      ...process.env,
      SUPERGRAPH_PATH: candidate,
    });
    expect(code).toBe(1);
    expect(stderr).toContain("- Course.tags: Field 'tags' was removed from object type 'Course'");
  });
});
