/** Runs a process to its end, for tests of what a process refuses at start-up. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './scripts.js';

export interface Finished {
  /** The exit code, or null when a signal ended it. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node <file relative to the repository> ...args` with exactly `env` and resolves once it has
 * exited. A process still running after `boundMs` (60 s) is killed, so a process that starts instead
 * of refusing fails the test rather than hanging it.
 */
export function runNode(file: string, args: string[], env: NodeJS.ProcessEnv, boundMs = 60_000): Promise<Finished> {
  return runProcess(process.execPath, [path.join(ROOT, file), ...args], env, boundMs);
}

/** The same for any executable (`command`: a path). */
export function runProcess(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  boundMs = 60_000,
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const bound = setTimeout(() => child.kill('SIGKILL'), boundMs);
    child.once('error', (err) => (clearTimeout(bound), reject(err)));
    child.once('close', (code) => (clearTimeout(bound), resolve({ code, stdout, stderr })));
  });
}
