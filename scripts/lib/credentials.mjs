// The local credentials `npm start`, the tests and the benchmarks use: one NATS user per service
// (scripts/lib/nats-config.mjs gives each its permissions) plus `operator` for scripts and tests, and
// the Redis password. Generated once into <COURSEGRAPH_DATA_DIR>/credentials.json (mode 0600, under
// the git-ignored .data/) and kept, so every server and process started from this clone agrees.
// A URL that already carries credentials of someone else's (an operator-provided REDIS_URL or
// NATS_URL) wins over these. Uses only Node built-ins: it runs before `npm install`.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The NATS users: one per service that connects, plus `operator` (every right) for scripts and tests. */
export const NATS_USERS = [
  'identity',
  'course',
  'enrollment',
  'payment',
  'notification',
  'learning',
  'video',
  'ai',
  'flags',
  'gateway',
  'search',
  'operator',
];

export const credentialsFile = () =>
  path.join(path.resolve(process.env.COURSEGRAPH_DATA_DIR || path.join(ROOT, '.data')), 'credentials.json');

// Letters and digits only: nothing to escape in a URL, a config file or a shell.
const secret = () =>
  randomBytes(24)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 32);

function generate() {
  return { redis: { password: secret() }, nats: Object.fromEntries(NATS_USERS.map((user) => [user, secret()])) };
}

function valid(c) {
  return (
    typeof c?.redis?.password === 'string' &&
    c.redis.password !== '' &&
    NATS_USERS.every((user) => typeof c.nats?.[user] === 'string' && c.nats[user] !== '')
  );
}

let cached = null;

/**
 * `{ redis: { password }, nats: { <user>: password } }`, created on first use. Creation is atomic
 * (written aside, then hard-linked into place), so parallel processes all end up with the same file.
 * A file missing a user (written by an older version) gets the missing ones added.
 */
export function credentials() {
  const file = credentialsFile();
  if (cached?.file === file) return cached.value;
  let value;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    if (err.code !== 'ENOENT')
      throw new Error(`credentials: ${file} is unreadable (${err.message}); delete it to generate new credentials`);
  }
  if (!valid(value)) {
    const merged = {
      redis: value?.redis?.password ? value.redis : generate().redis,
      nats: { ...generate().nats, ...(value?.nats ?? {}) },
    };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(merged, null, 2)}\n`, { mode: 0o600 });
    try {
      if (value)
        fs.renameSync(tmp, file); // completing an older file: replace it
      else fs.linkSync(tmp, file); // fails if another process created it meanwhile: theirs wins
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  }
  fs.chmodSync(file, 0o600);
  cached = { file, value };
  return value;
}

/** The password of a generated NATS user. */
export function natsPassword(user) {
  const password = credentials().nats[user];
  if (!password) throw new Error(`credentials: no NATS user "${user}" (known: ${NATS_USERS.join(', ')})`);
  return password;
}

export const redisPassword = () => credentials().redis.password;

const parsed = (url) => {
  try {
    return url.includes(',') ? null : new URL(url);
  } catch {
    return null;
  }
};

/**
 * True when `url` carries no credentials, or those of a generated user (so another generated user may
 * replace them). A list of servers or a URL that does not parse is an operator's own: false.
 */
export function hasOwnOrNoCredentials(url) {
  const u = parsed(url);
  if (!u) return false;
  if (!u.username && !u.password) return true;
  const user = decodeURIComponent(u.username);
  return NATS_USERS.includes(user) && decodeURIComponent(u.password) === credentials().nats[user];
}

/**
 * `url` as the generated NATS `user`: `nats://<user>:<password>@host:port`. A URL with credentials
 * of its own (not generated here) is returned as it is: an operator's setting wins.
 */
export function withNatsUser(url, user) {
  // nats.js takes `host:port` without a scheme too.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.includes(',')) url = `nats://${url}`;
  if (!hasOwnOrNoCredentials(url)) return url;
  const u = new URL(url);
  u.username = user;
  u.password = natsPassword(user);
  return u.toString().replace(/\/$/, '');
}

/** `url` with the generated Redis password (`redis://:<password>@host:port/db`), unless it has credentials already. */
export function withRedisPassword(url) {
  const u = parsed(url);
  if (!u || u.username || u.password) return url;
  u.password = redisPassword();
  return u.toString();
}
