// Protocol probes: whether PostgreSQL, Redis and NATS answer at their URLs, and whether Redis and NATS
// take our credentials. Raw sockets (Node built-ins only: this runs before `npm install`), each
// bounded by a timeout.
import net from 'node:net';
import { SERVICES, where } from './config.mjs';

/** Connects, optionally sends a greeting, and lets `judge` decide from the bytes received (undefined: wait). */
function probe({ host, port }, hello, judge, timeoutMs = 1500) {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    let done = false;
    const sock = net.connect({ host, port });
    const finish = (v) => {
      if (!done) {
        done = true;
        sock.destroy();
        resolve(v);
      }
    };
    sock.setTimeout(timeoutMs, () => finish(false));
    sock.on('error', () => finish(false));
    sock.on('close', () => finish(judge(buf) ?? false));
    sock.on('connect', () => {
      if (hello) sock.write(hello);
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const v = judge(buf);
      if (v !== undefined) finish(v);
    });
  });
}

// A RESP command (binary-safe: a password may hold any character).
const resp = (...args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;

/**
 * NATS greets with `INFO {json}\r\n`. Resolves with the parsed INFO object plus `auth`: 'ok' (our
 * credentials are accepted), 'open' (it requires none) or 'refused'; or false when nothing NATS answers.
 */
function natsProbe(s, timeoutMs = 1500) {
  return new Promise((resolve) => {
    let buf = '';
    let info = null;
    let done = false;
    const sock = net.connect({ host: s.host, port: s.port });
    const finish = (v) => {
      if (!done) {
        done = true;
        sock.destroy();
        resolve(v);
      }
    };
    const ended = () => finish(info ? { ...info, auth: 'refused' } : false);
    sock.setTimeout(timeoutMs, ended);
    sock.on('error', ended);
    sock.on('close', ended);
    sock.on('data', (d) => {
      buf += d;
      if (!info) {
        const end = buf.indexOf('\r\n');
        if (end < 0) return;
        const line = buf.slice(0, end);
        buf = buf.slice(end + 2);
        try {
          info = line.startsWith('INFO ') ? JSON.parse(line.slice(5)) : null;
        } catch {
          info = null;
        }
        if (!info) return finish(false);
        if (!info.auth_required) return finish({ ...info, auth: 'open' });
        if (!s.user) return finish({ ...info, auth: 'refused' });
        const auth = s.password ? { user: s.user, pass: s.password } : { auth_token: s.user };
        const connect = {
          verbose: false,
          pedantic: false,
          name: 'stack-probe',
          lang: 'node',
          version: '0',
          protocol: 1,
          ...auth,
        };
        sock.write(`CONNECT ${JSON.stringify(connect)}\r\nPING\r\n`);
      }
      if (buf.includes('PONG\r\n')) finish({ ...info, auth: 'ok' });
      else if (buf.includes('-ERR')) finish({ ...info, auth: 'refused' });
    });
  });
}

/**
 * Redis's answer to AUTH then PING (PING alone without a password): 'ok' (our password is accepted),
 * 'open' (it requires none), 'refused', false (not Redis), or undefined while lines are missing.
 */
function judgeRedis(s, b) {
  const lines = b.toString().split('\r\n');
  if (lines.length < (s.password ? 3 : 2)) return undefined; // every line complete
  if (!lines.every((l, i) => i === lines.length - 1 || /^[+-]/.test(l))) return false;
  if (!s.password) return lines[0].startsWith('+PONG') ? 'open' : 'refused';
  if (lines[0].startsWith('+OK') && lines[1].startsWith('+PONG')) return 'ok';
  // Redis 6+ and older say it differently.
  return /without any password configured|no password is set/i.test(lines[0]) ? 'open' : 'refused';
}

/** One probe per server; each takes its entry in stackConfig(). */
export const probes = {
  // SSLRequest (length 8, code 80877103): every PostgreSQL answers with one byte, 'S' or 'N', and logs nothing.
  postgres: (s) =>
    probe(s, Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]), (b) =>
      b.length ? b[0] === 0x53 || b[0] === 0x4e : undefined,
    ),
  redis: (s) =>
    probe(s, s.password ? resp('AUTH', ...(s.user ? [s.user] : []), s.password) + resp('PING') : resp('PING'), (b) =>
      judgeRedis(s, b),
    ),
  nats: (s) => natsProbe(s),
};

/** 'ok', 'open' or 'refused' from a probe's answer (postgres: its credentials are checked elsewhere). */
const authOf = (name, answer) => (name === 'redis' ? answer : name === 'nats' ? answer.auth : 'ok');

/**
 * Probes every server (throwing if NATS answers without JetStream): `missing` names those that do not
 * answer, `unauthenticated` those that answer but require no credentials ('open') or refuse ours ('refused').
 */
export async function survey(c) {
  const answers = await Promise.all(SERVICES.map((n) => probes[n](c[n])));
  const info = answers[SERVICES.indexOf('nats')];
  if (info && info.jetstream !== true) {
    throw new Error(
      `stack: nats at ${where(c.nats)} answers but without JetStream (its INFO lacks "jetstream":true); ` +
        'restart it with -js or point NATS_URL at a JetStream-enabled server',
    );
  }
  return {
    missing: SERVICES.filter((n, i) => !answers[i]),
    unauthenticated: SERVICES.map((name, i) => ({ name, auth: answers[i] && authOf(name, answers[i]) })).filter(
      ({ auth }) => auth && auth !== 'ok',
    ),
  };
}

/**
 * Each server's state as `status` reports it: PostgreSQL when it answers; Redis and NATS when they
 * accept the credentials (and NATS has JetStream).
 */
export async function probeAll(c) {
  const [postgres, redis, nats] = await Promise.all([
    probes.postgres(c.postgres),
    probes.redis(c.redis),
    probes.nats(c.nats),
  ]);
  return { postgres: Boolean(postgres), redis: redis === 'ok', nats: nats?.jetstream === true && nats.auth === 'ok' };
}
