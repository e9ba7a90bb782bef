// The steps `npm start` and `npm test` share: dependencies, services, database, build.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './env.mjs';
import { ensureStack } from './stack/index.mjs';

export function run(cmd, args, options = {}) {
  execFileSync(cmd, args, { cwd: ROOT, stdio: 'inherit', ...options });
}

/** `npm ci` on a fresh clone, or when package-lock.json changed since the last install. */
export function ensureDependencies(log) {
  const installed = path.join(ROOT, 'node_modules/.package-lock.json');
  const lock = path.join(ROOT, 'package-lock.json');
  if (fs.existsSync(installed) && fs.statSync(installed).mtimeMs >= fs.statSync(lock).mtimeMs) return;
  log('prepare: installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

/**
 * Services up, database roles and schemas, Prisma clients and TypeScript built, migrations applied.
 * Returns the services this call started (so the caller can stop them again).
 */
export async function prepare({ log = console.error } = {}) {
  ensureDependencies(log);
  const { started } = await ensureStack({ log });
  const prisma = await import('../prisma.mjs');
  log('prepare: database roles and schemas');
  await prisma.bootstrap();
  log('prepare: build (prisma generate, codegen, tsc; cargo for the Rust subgraphs)');
  run('npm', ['run', '--silent', 'build']);
  run('cargo', ['build', '--quiet', '--manifest-path', path.join(ROOT, 'rust-subgraphs/Cargo.toml'), '--bins']);
  log('prepare: migrations');
  prisma.deploy({ quiet: true });
  return { started };
}
