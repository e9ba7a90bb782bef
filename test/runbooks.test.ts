/**
 * docs/runbooks/: one page per alert of deploy/prometheus/rules/. Every alert's `runbook_url` names its
 * own page, which exists; every page is an alert's, names it, and says what it means, how to look,
 * what to do and when to escalate; every repository path a page names exists.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RULES = path.join(ROOT, 'deploy/prometheus/rules');
const RUNBOOKS = path.join(ROOT, 'docs/runbooks');

type Rule = { alert?: string; annotations?: Record<string, string> };
const alertRules = fs
  .readdirSync(RULES)
  .filter((f) => f.endsWith('.yml'))
  .flatMap((f) => (YAML.parse(fs.readFileSync(path.join(RULES, f), 'utf8')) as { groups: { rules: Rule[] }[] }).groups)
  .flatMap((g) => g.rules.filter((r): r is Rule & { alert: string } => Boolean(r.alert)));
const alerts = [...new Set(alertRules.map((r) => r.alert))];
const pages = fs.readdirSync(RUNBOOKS).filter((f) => f.endsWith('.md') && f !== 'README.md');
const read = (page: string) => fs.readFileSync(path.join(RUNBOOKS, page), 'utf8');

describe('docs/runbooks', () => {
  it("gives every alert rule a runbook_url naming the alert's own page, which exists", () => {
    expect(alertRules.length).toBeGreaterThan(0);
    for (const rule of alertRules) {
      expect(rule.annotations?.runbook_url, rule.alert).toBe(`docs/runbooks/${rule.alert}.md`);
      expect(fs.existsSync(path.join(ROOT, rule.annotations!.runbook_url!)), rule.alert).toBe(true);
    }
  });

  it('has a page only for alerts that exist, each titled with its alert and answering the four questions', () => {
    expect(pages.map((p) => p.replace(/\.md$/, '')).sort()).toEqual([...alerts].sort());
    for (const page of pages) {
      const text = read(page);
      expect(text.split('\n')[0], page).toBe(`# ${page.replace(/\.md$/, '')}`);
      for (const section of ['## What it means', '## How to look', '## What to do', '## When to escalate'])
        expect(text, `${page}: ${section}`).toContain(`\n${section}\n`);
    }
  });

  it('lists every page in its index', () => {
    const index = read('README.md');
    for (const page of pages) expect(index, page).toContain(`](${page})`);
  });

  it('names only scripts, files and folders that exist', () => {
    for (const page of ['README.md', ...pages]) {
      const paths = [
        ...read(page).matchAll(
          /`((?:scripts|docs|deploy|gateway|subgraphs|packages|rust-subgraphs|schema)\/[^`\s<>*]+)/g,
        ),
      ];
      for (const [, p] of paths)
        expect(fs.existsSync(path.join(ROOT, p!.replace(/[),.:]+$/, ''))), `${page}: ${p}`).toBe(true);
    }
  });
});
