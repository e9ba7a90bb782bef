/**
 * NATS credentials travel in the URL (`nats://user:password@host:4222` or `nats://token@host:4222`),
 * like every other service URL, but nats.js reads only host and port from a server URL (it even
 * takes the first `:<digits>` for the port, so a password starting with a digit would move it). This
 * turns such a URL into nats.js connect options: the bare servers plus `user`/`pass` or `token`.
 */

export interface NatsConnectOptions {
  /** Host and port of each server, credentials removed. */
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
  /**
   * Where replies (and messages pulled from JetStream) come: `_INBOX_<user>` for a user, so a NATS
   * server can let each user subscribe to its own replies only (scripts/lib/nats-config.mjs);
   * `_INBOX`, nats.js's default, without a user.
   */
  inboxPrefix: string;
}

const decode = (part: string): string => {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
};

/** The inbox prefix of a NATS user's connections (subjects allow letters, digits, `-` and `_` here). */
export const natsInboxPrefix = (user: string | undefined): string =>
  user ? `_INBOX_${user.replace(/[^A-Za-z0-9_-]/g, '_')}` : '_INBOX';

/**
 * `nats://user:pw@a:4222,nats://b:4222` → `{ servers: ['nats://a:4222', 'nats://b:4222'], user, pass, inboxPrefix }`.
 * The first URL's credentials are used for every server (a cluster shares its users). A URL with a
 * user and no password is a token. Throws on a URL that cannot be parsed.
 */
export function natsConnectOptions(url: string): NatsConnectOptions {
  const parts = url
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new Error('NATS URL is empty');
  let user: string | undefined;
  let pass: string | undefined;
  let token: string | undefined;
  const servers = parts.map((part) => {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(part) ? part : `nats://${part}`;
    let u: URL;
    try {
      u = new URL(withScheme);
    } catch {
      throw new Error(`NATS URL "${redactNatsUrl(part)}" cannot be parsed`);
    }
    if (u.username && user === undefined && token === undefined) {
      if (u.password) {
        user = decode(u.username);
        pass = decode(u.password);
      } else {
        token = decode(u.username);
      }
    }
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  });
  return {
    servers,
    ...(user !== undefined ? { user, pass } : {}),
    ...(token !== undefined ? { token } : {}),
    inboxPrefix: natsInboxPrefix(user),
  };
}

/** The URL with its password or token replaced by `***`, for logs. */
export function redactNatsUrl(url: string): string {
  return url.replace(
    /(\/\/)([^@/,]*)@/g,
    (_all, slashes: string, cred: string) =>
      `${slashes}${cred.includes(':') ? `${cred.slice(0, cred.indexOf(':'))}:***` : '***'}@`,
  );
}
