/**
 * The SLO and alerting rules of deploy/prometheus/ (docs/slo.md) through Debian's promtool: the rules
 * and the scrape configuration are valid, and every alert fires on the recorded series that should
 * fire it, at the time it should, and stays silent on healthy series and on short spikes
 * (deploy/prometheus/tests/*.yml). promtool is installed the way `npm start` installs Prometheus.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ensurePrometheus } from '../scripts/lib/stack/install.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.join(ROOT, 'deploy/prometheus');
const inDir = (sub: string) =>
  fs
    .readdirSync(path.join(DIR, sub))
    .filter((f) => f.endsWith('.yml'))
    .map((f) => path.join(DIR, sub, f));

function promtool(...args: string[]) {
  const result = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8', timeout: 240_000 });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

beforeAll(() => ensurePrometheus({ log: () => {} }), 600_000);

describe('deploy/prometheus', () => {
  it('has valid rules and a valid scrape configuration that loads them all', () => {
    const rules = promtool('check', 'rules', ...inDir('rules'));
    expect(rules.out).not.toMatch(/FAILED/);
    expect(rules.code).toBe(0);
    const config = promtool('check', 'config', 'prometheus.yml');
    expect(config.code, config.out).toBe(0);
    // Every rules file is loaded: the config's glob finds each one.
    for (const file of inDir('rules')) expect(config.out).toContain(`Checking rules/${path.basename(file)}`);
  });

  it('scrapes every service of schema/subgraphs.json and the gateway', () => {
    const config = fs.readFileSync(path.join(DIR, 'prometheus.yml'), 'utf8');
    const subgraphs = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema/subgraphs.json'), 'utf8')) as {
      subgraphs: Record<string, { port: number }>;
    };
    for (const [name, { port }] of [['gateway', { port: 4000 }] as const, ...Object.entries(subgraphs.subgraphs)])
      expect(config, name).toMatch(new RegExp(`- 127\\.0\\.0\\.1:${port} # ${name}\\n`));
  });

  it('tests every alert both firing and silent', () => {
    type RuleFile = { groups: { rules: { alert?: string }[] }[] };
    type TestFile = { tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[] };
    const alerts = new Set(
      inDir('rules').flatMap((f) =>
        (YAML.parse(fs.readFileSync(f, 'utf8')) as RuleFile).groups.flatMap((g) =>
          g.rules.flatMap((r) => r.alert ?? []),
        ),
      ),
    );
    const cases = inDir('tests').flatMap((f) =>
      (YAML.parse(fs.readFileSync(f, 'utf8')) as TestFile).tests.flatMap((t) => t.alert_rule_test ?? []),
    );
    for (const alert of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${alert} is never expected to fire`,
      ).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${alert} is never expected to stay silent`,
      ).toBe(true);
    }
  });

  it('fires every alert when it should and never when it should not (promtool test rules)', () => {
    const tests = inDir('tests');
    // Each test file names the rules it exercises; together they cover every rules file.
    const covered = new Set(
      tests.flatMap((f) => [...fs.readFileSync(f, 'utf8').matchAll(/\.\.\/rules\/([\w-]+\.yml)/g)].map((m) => m[1])),
    );
    expect([...covered].sort()).toEqual(
      inDir('rules')
        .map((f) => path.basename(f))
        .sort(),
    );
    const result = promtool('test', 'rules', ...tests);
    expect(result.out).not.toMatch(/FAILED/);
    expect(result.code, result.out).toBe(0);
    expect(result.out.match(/SUCCESS/g)).toHaveLength(tests.length);
  }, 300_000);
});
