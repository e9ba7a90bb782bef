import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), 'utf8');

/**
 * Runs scripts/docs.mjs as CI would, in an environment without the tests' settings: the generated
 * text must not depend on who runs it (a default that read the environment would show here).
 */
function docs(...args: string[]) {
  const result = spawnSync(process.execPath, ['scripts/docs.mjs', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.homedir() },
    timeout: 60_000,
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
});

/** A folder holding copies of the generated files, to be made stale without touching the clone. */
function copyOfGenerated(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coursegraph-docs-'));
  scratch.push(dir);
  fs.mkdirSync(path.join(dir, 'docs'));
  fs.copyFileSync(path.join(ROOT, 'docs/events.md'), path.join(dir, 'docs/events.md'));
  fs.copyFileSync(path.join(ROOT, 'README.md'), path.join(dir, 'README.md'));
  return dir;
}

describe('generated documentation', () => {
  it('docs/events.md and the README configuration table are current (run `npm run docs` when this fails)', () => {
    const { code, out } = docs('--check');
    expect(out).toBe('');
    expect(code).toBe(0);
  });

  it('fails naming each stale file, and changes nothing', () => {
    const dir = copyOfGenerated();
    const events = path.join(dir, 'docs/events.md');
    const readme = path.join(dir, 'README.md');
    fs.writeFileSync(
      events,
      fs.readFileSync(events, 'utf8').replace('`course.course.published`', '`course.course.launched`'),
    );
    fs.writeFileSync(readme, fs.readFileSync(readme, 'utf8').replace(/^\| `GATEWAY_PORT` \|.*\n/m, ''));
    const before = [fs.readFileSync(events, 'utf8'), fs.readFileSync(readme, 'utf8')];

    const { code, out } = docs('--check', '--against', dir);
    expect(code).toBe(1);
    expect(out).toContain('stale: docs/events.md (events), README.md (config); run npm run docs');
    expect([fs.readFileSync(events, 'utf8'), fs.readFileSync(readme, 'utf8')]).toEqual(before);

    // Without --check it rewrites them to what the clone holds.
    expect(docs('--against', dir).code).toBe(0);
    expect(fs.readFileSync(events, 'utf8')).toBe(read('docs/events.md'));
    expect(fs.readFileSync(readme, 'utf8')).toBe(read('README.md'));
  });

  it('refuses a README without the table markers, and unknown targets, with a clear message', () => {
    const dir = copyOfGenerated();
    const readme = path.join(dir, 'README.md');
    fs.writeFileSync(readme, fs.readFileSync(readme, 'utf8').replace('<!-- config:end -->', ''));
    const missing = docs('config', '--check', '--against', dir);
    expect(missing.code).toBe(1);
    expect(missing.out).toContain('README.md has no <!-- config:begin --> … <!-- config:end --> markers');

    const unknown = docs('everything');
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain('unknown target "everything"');
  });

  it('the catalogue has a section for every subject the contracts define', () => {
    // Read from the source, apart from the generator, which imports the build.
    const subjects = [...read('packages/contracts/src/index.ts').matchAll(/defineEvent\('([a-z_.]+)'/g)].map(
      (m) => m[1],
    );
    expect(subjects.length).toBeGreaterThan(10);
    const catalogue = read('docs/events.md');
    for (const subject of subjects) expect(catalogue, subject).toContain(`### \`${subject}\``);
  });

  it("the configuration table has a row for every variable of every service's config spec", () => {
    const table = read('README.md').split('<!-- config:begin -->')[1]!.split('<!-- config:end -->')[0]!;
    const sources = [
      'gateway/src/config.ts',
      ...fs.readdirSync(path.join(ROOT, 'subgraphs')).map((s) => `subgraphs/${s}/src/config.ts`),
      'packages/service-kit/src/config.ts',
      'packages/service-kit/src/events/nats.ts',
      'packages/service-kit/src/events/outbox-settings.ts',
    ].filter((f) => fs.existsSync(path.join(ROOT, f)));
    const names = sources.flatMap((f) => [...read(f).matchAll(/\benv: '([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1]!));
    const rust = [...read('rust-subgraphs/search/src/config.rs').matchAll(/\/\/\/ `([A-Z][A-Z0-9_]+)`:/g)].map(
      (m) => m[1]!,
    );
    expect(names.length).toBeGreaterThan(50);
    for (const name of [...names, ...rust]) expect(table, name).toContain(`| \`${name}\` |`);
  });
});
