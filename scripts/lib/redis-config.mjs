// The redis-server configuration every local Redis is started with (`npm start`'s and the tests'
// shared one, a test's private one): the generated password required (scripts/lib/credentials.mjs),
// loopback only, nothing saved to disk (it holds caches, limits and revocations that expire anyway).
// A file rather than flags, so the password never shows in the process list. Uses only Node built-ins.
import fs from 'node:fs';
import { redisPassword } from './credentials.mjs';

// Redis's config parser takes double-quoted strings with backslash escapes.
const quoted = (value) => `"${String(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** The configuration text: `port`, `bind` address, and optional `dir`, `pidFile`, `logFile`. */
export function redisServerConfig({ port, bind = '127.0.0.1', dir, pidFile, logFile }) {
  return [
    `port ${port}`,
    `bind ${bind}`,
    'daemonize no',
    'save ""',
    'appendonly no',
    `requirepass ${quoted(redisPassword())}`,
    ...(dir ? [`dir ${quoted(dir)}`] : []),
    ...(pidFile ? [`pidfile ${quoted(pidFile)}`] : []),
    ...(logFile ? [`logfile ${quoted(logFile)}`] : []),
    '',
  ].join('\n');
}

/** Writes redisServerConfig(options) to `file` (mode 0600: it holds the password) and returns the path. */
export function writeRedisConfig(file, options) {
  fs.writeFileSync(file, redisServerConfig(options), { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return file;
}
