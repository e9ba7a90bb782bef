/**
 * .github/CODEOWNERS covers every context and names nothing that is not there: each subgraph of
 * schema/subgraphs.json, each prisma/<context>/ and each schema/events/coursegraph/<context>/ is
 * owned by its context's team (GitHub applies the last matching line, and so does this test), and
 * every path the file names exists.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../scripts/lib/env.mjs';

interface Rule {
  line: number;
  pattern: string;
  owners: string[];
}

const RULES: Rule[] = fs
  .readFileSync(path.join(ROOT, '.github/CODEOWNERS'), 'utf8')
  .split('\n')
  .map((text, i) => ({ text: text.trim(), line: i + 1 }))
  .filter(({ text }) => text !== '' && !text.startsWith('#'))
  .map(({ text, line }) => {
    const [pattern, ...owners] = text.split(/\s+/);
    return { line, pattern: pattern!, owners };
  });

/** A rule's pattern as a path from the root (`/a/b/` → `a/b`), or null for the catch-all `*`. */
const pathOf = (pattern: string) => (pattern === '*' ? null : pattern.replace(/^\//, '').replace(/\/$/, ''));

/** The owners GitHub gives `file` (a path from the root): the last rule that matches it. */
function ownersOf(file: string): string[] {
  let owners: string[] = [];
  for (const rule of RULES) {
    const dir = pathOf(rule.pattern);
    if (dir === null || file === dir || file.startsWith(`${dir}/`)) owners = rule.owners;
  }
  return owners;
}

const dirsIn = (dir: string) =>
  fs
    .readdirSync(path.join(ROOT, dir), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();

const subgraphs = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema/subgraphs.json'), 'utf8')).subgraphs as Record<
  string,
  { sdl: string }
>;
/** A subgraph's folder: its SDL's path up to `src/` (subgraphs/identity, rust-subgraphs/search). */
const folderOf = (sdl: string) => sdl.slice(0, sdl.indexOf('/src/'));

describe('.github/CODEOWNERS', () => {
  it('is made of rules with a path or `*`, each with owners that are team handles', () => {
    expect(RULES.length).toBeGreaterThan(0);
    for (const rule of RULES) {
      expect(rule.pattern, `line ${rule.line}`).toMatch(/^(\*|\/[\w./-]+)$/);
      expect(rule.owners.length, `line ${rule.line} names no owner`).toBeGreaterThan(0);
      for (const owner of rule.owners) expect(owner, `line ${rule.line}`).toMatch(/^@coursegraph\/[a-z][a-z-]*$/);
    }
    expect(RULES[0]!.pattern, 'the catch-all comes first, or it would override every line above it').toBe('*');
  });

  it('names only paths that exist', () => {
    const missing = RULES.map((r) => pathOf(r.pattern)).filter(
      (p): p is string => p !== null && !fs.existsSync(path.join(ROOT, p)),
    );
    expect(missing).toEqual([]);
  });

  it('gives every subgraph to its context team', () => {
    expect(Object.keys(subgraphs).length).toBeGreaterThan(0);
    for (const [name, { sdl }] of Object.entries(subgraphs)) {
      const folder = folderOf(sdl);
      expect(
        RULES.some((r) => pathOf(r.pattern) === folder),
        `no line for ${folder}/`,
      ).toBe(true);
      expect(ownersOf(sdl), sdl).toEqual([`@coursegraph/${name}`]);
    }
  });

  it("gives every context's Prisma schema and migrations to its team", () => {
    const contexts = dirsIn('prisma');
    expect(contexts.length).toBeGreaterThan(0);
    for (const context of contexts) {
      expect(
        RULES.some((r) => pathOf(r.pattern) === `prisma/${context}`),
        `no line for prisma/${context}/`,
      ).toBe(true);
      expect(ownersOf(`prisma/${context}/schema.prisma`)).toEqual([`@coursegraph/${context}`]);
      expect(ownersOf(`prisma/${context}/migrations/x/migration.sql`)).toEqual([`@coursegraph/${context}`]);
    }
  });

  it("gives every context's event contracts to its team", () => {
    const contexts = dirsIn('schema/events/coursegraph');
    expect(contexts.length).toBeGreaterThan(0);
    for (const context of contexts) {
      const folder = `schema/events/coursegraph/${context}`;
      expect(
        RULES.some((r) => pathOf(r.pattern) === folder),
        `no line for ${folder}/`,
      ).toBe(true);
      expect(ownersOf(`${folder}/v1/events.proto`)).toEqual([`@coursegraph/${context}`]);
    }
  });

  it('leaves nothing without an owner', () => {
    for (const file of [
      'README.md',
      'gateway/src/app.ts',
      'packages/service-kit/src/index.ts',
      'scripts/stack.mjs',
      'deploy/k8s/base/gateway.yaml',
      'docs/architecture.md',
    ]) {
      expect(ownersOf(file).length, file).toBeGreaterThan(0);
    }
  });
});
