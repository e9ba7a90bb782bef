#!/usr/bin/env node
// `npm test`: the code-health checks (scripts/lib/code-health.mjs), then every test, TypeScript
// (vitest) and Rust (cargo test), against real PostgreSQL, Redis and NATS started the same way as
// `npm start`. Ends with one line: "N passed, N failed".
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib/env.mjs';
import { testEnv } from './lib/test-env.mjs';
import { prepare } from './lib/prepare.mjs';
import { runChecks } from './lib/code-health.mjs';

Object.assign(process.env, testEnv());
const log = (line) => console.log(line);

/** Runs a command, echoing its output, and resolves with its exit code and the output. */
function runCapture(cmd, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: process.env, ...options });
    let output = '';
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk) => {
        output += chunk;
        process.stdout.write(chunk);
      });
    }
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

const { started } = await prepare({ log });
const { stopServices, ensureBrowser, ensureFfmpeg } = await import('./lib/stack/index.mjs');
const totals = { passed: 0, failed: 0, skipped: 0 };
let problems = [];

try {
  // Code health before the tests, each check counted as one test; a failure fails the run, but the
  // tests still run so one run reports everything.
  log('\n== Code health (prettier, eslint, cargo fmt, cargo clippy)');
  for (const check of await runChecks({ log })) {
    if (check.ok) totals.passed += 1;
    else {
      totals.failed += 1;
      problems.push(`check ${check.name} failed (${check.fix})`);
    }
  }

  // The browser tests (the explorer in Chromium) need Debian's chromium; the video tests FFmpeg.
  await ensureBrowser({ log });
  await ensureFfmpeg({ log });
  log('\n== TypeScript tests (vitest)');
  const report = path.join(ROOT, '.data/test-results/vitest.json');
  fs.mkdirSync(path.dirname(report), { recursive: true });
  fs.rmSync(report, { force: true });
  const vitest = await runCapture(path.join(ROOT, 'node_modules/.bin/vitest'), [
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
  ]);
  if (fs.existsSync(report)) {
    const r = JSON.parse(fs.readFileSync(report, 'utf8'));
    totals.passed += r.numPassedTests;
    totals.failed += r.numFailedTests;
    totals.skipped += r.numPendingTests + r.numTodoTests;
    // A file that fails to load has no failed test but must still fail the run.
    const brokenFiles = r.testResults.filter(
      (f) => f.status === 'failed' && f.assertionResults.every((a) => a.status !== 'failed'),
    );
    totals.failed += brokenFiles.length;
    // Name what failed next to the last line, which is what a CI summary shows.
    const failedNames = r.testResults.flatMap((f) =>
      f.assertionResults
        .filter((a) => a.status === 'failed')
        .map((a) => `${path.relative(ROOT, f.name)} > ${a.fullName}`),
    );
    for (const f of brokenFiles) failedNames.push(`${path.relative(ROOT, f.name)} (did not load: ${f.message})`);
    if (failedNames.length > 0) problems.push(`failed tests:\n  ${failedNames.join('\n  ')}`);
  } else {
    totals.failed += 1;
  }
  if (vitest.code !== 0) problems.push(`vitest exited ${vitest.code}`);

  log('\n== Rust tests (cargo test)');
  const cargo = await runCapture('cargo', [
    'test',
    '--manifest-path',
    path.join(ROOT, 'rust-subgraphs/Cargo.toml'),
    '--color',
    'never',
  ]);
  let rustCounted = false;
  for (const m of cargo.output.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored/g)) {
    totals.passed += Number(m[1]);
    totals.failed += Number(m[2]);
    totals.skipped += Number(m[3]);
    rustCounted = true;
  }
  if (cargo.code !== 0) {
    problems.push(`cargo test exited ${cargo.code}`);
    if (!rustCounted) totals.failed += 1; // did not compile: count it, never hide it
  }
} finally {
  await stopServices(started, { log });
}

if (problems.length > 0) log(`\nproblems: ${problems.join('; ')}`);
log(`\n${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
process.exit(totals.failed > 0 || problems.length > 0 ? 1 : 0);
