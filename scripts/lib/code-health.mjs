// The code-health checks `npm test` runs before the tests (and `npm run check` runs alone):
// Prettier and ESLint for the TypeScript and the scripts, rustfmt and clippy for the Rust.
// They run after dependencies are installed, since each tool comes from them (or from rustup).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './env.mjs';

const bin = (name) => path.join(ROOT, 'node_modules/.bin', name);
const cargoManifest = ['--manifest-path', path.join(ROOT, 'rust-subgraphs/Cargo.toml')];

/** Each check: a name to report, and the command that exits non-zero when it fails. */
export const CHECKS = [
  { name: 'prettier', cmd: bin('prettier'), args: ['--check', '--log-level', 'warn', '.'], fix: 'npm run format' },
  {
    name: 'eslint',
    cmd: bin('eslint'),
    args: ['--max-warnings', '0', '.'],
    fix: 'npm run lint -- --fix, then fix what remains',
  },
  {
    name: 'cargo fmt',
    cmd: 'cargo',
    args: ['fmt', '--all', ...cargoManifest, '--', '--check'],
    fix: 'cargo fmt --all',
  },
  {
    name: 'cargo clippy',
    cmd: 'cargo',
    args: [
      'clippy',
      '--workspace',
      '--all-targets',
      '--quiet',
      '--color',
      'never',
      ...cargoManifest,
      '--',
      '-D',
      'warnings',
    ],
    fix: 'fix what clippy names (rust-subgraphs/)',
  },
];

/** Runs one command with inherited output; resolves with its exit code (127 when it cannot start). */
function run(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: 'inherit' });
    child.on('error', (err) => {
      console.error(`${cmd}: ${err.message}`);
      resolve(127);
    });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

/**
 * Runs every check, one after the other (the machine has 2 cores), never stopping at the first
 * failure so one run names them all. Resolves with `[{ name, ok, fix }]` in CHECKS order.
 */
export async function runChecks({ log = console.log } = {}) {
  const results = [];
  for (const check of CHECKS) {
    log(`-- ${check.name}`);
    const code = await run(check.cmd, check.args);
    const ok = code === 0;
    log(ok ? `   ${check.name}: ok` : `   ${check.name}: FAILED (exit ${code}); to fix: ${check.fix}`);
    results.push({ name: check.name, ok, fix: check.fix });
  }
  return results;
}
