/**
 * CONTRIBUTING.md says only what the repository has: every path it names in backticks exists, every
 * `npm run <script>` is a script of package.json, and every `node <file>` is a file. A path with
 * `<context>` (or `<ctx>`) is checked for the context its checklist copies from, notification, so the
 * "adding a context" steps keep matching how the last context was built.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../scripts/lib/env.mjs';

const TEXT = fs.readFileSync(path.join(ROOT, 'CONTRIBUTING.md'), 'utf8');
const SCRIPTS = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
const SPANS = [...TEXT.replace(/```[\s\S]*?```/g, '').matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
/** Markdown links to files of the repository: [text](path#anchor). */
const LINKS = [...TEXT.matchAll(/\]\(([^)\s#]+)(#[^)]*)?\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l));

const EXAMPLE_CONTEXT = 'notification';
const concrete = (p: string) => p.replace(/<(context|ctx)>/g, EXAMPLE_CONTEXT);
/** A repository path: segments with a slash (a bare file name is one of the step's folder); no spaces, no URL. */
const looksLikePath = (s: string) => !s.startsWith('@') && !s.includes('://') && /^\.?[\w.<>-]+\/[\w.<>/-]*$/.test(s);
/** Paths that name something to be created (the placeholder stands for a file of one's own). */
const isTemplate = (s: string) => /<(timestamp|name|Message)>/.test(s);

describe('CONTRIBUTING.md', () => {
  it('names paths that exist', () => {
    const paths = SPANS.filter(looksLikePath).filter((s) => !isTemplate(s));
    expect(paths.length).toBeGreaterThan(30);
    const missing = paths.map(concrete).filter((p) => !fs.existsSync(path.join(ROOT, p)));
    expect(missing).toEqual([]);
  });

  it('names npm scripts and node files that exist', () => {
    const commands = SPANS.filter((s) => /^(npm run|node) /.test(s));
    expect(commands.length).toBeGreaterThan(5);
    for (const command of commands) {
      const [tool, first, second] = command.split(/\s+/);
      if (tool === 'npm') expect(Object.keys(SCRIPTS), command).toContain(second);
      else expect(fs.existsSync(path.join(ROOT, first!)), command).toBe(true);
    }
  });

  it('links to documents that exist', () => {
    expect(LINKS.length).toBeGreaterThan(3);
    expect(LINKS.filter((l) => !fs.existsSync(path.join(ROOT, l)))).toEqual([]);
  });

  it('is linked from the README and docs/README.md', () => {
    expect(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')).toContain('](CONTRIBUTING.md)');
    expect(fs.readFileSync(path.join(ROOT, 'docs/README.md'), 'utf8')).toContain('](../CONTRIBUTING.md)');
  });
});
