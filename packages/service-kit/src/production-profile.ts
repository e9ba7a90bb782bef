/**
 * The production profile: what `COURSEGRAPH_MODE=production` refuses to run on. Each check looks at
 * one setting's value and returns a readable problem, or undefined when it is fine. Settings carry
 * them as `productionCheck` (config.ts), so a service applies the checks of the settings it has, and
 * readConfig lists their problems with every other one. The checks read URLs only: credentials
 * travel in the URLs (REDIS_URL, NATS_URL, <CONTEXT>_DATABASE_URL), never in separate settings.
 */

/** Passwords the development set-up gives PostgreSQL roles (scripts/lib/env.mjs): the admin's and `cg_<context>_dev`. */
const DEVELOPMENT_DB_PASSWORD = /^(postgres|cg_[a-z0-9_]+_dev)$/;

const parsed = (url: string): URL | undefined => {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
};

const decoded = (part: string): string => {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
};

/**
 * A database URL with no password, or with a password of the development set-up (`postgres`,
 * `cg_<context>_dev`). A URL without a password that names a client certificate (`sslcert=`)
 * authenticates by certificate and passes.
 */
export function databasePasswordProblem(url: string): string | undefined {
  const u = parsed(url);
  if (!u) return 'is not a URL';
  const password = decoded(u.password) || (u.searchParams.get('password') ?? '');
  if (password === '') {
    if (u.searchParams.has('sslcert')) return undefined;
    return "has no password: give the service's database role a password of its own";
  }
  if (DEVELOPMENT_DB_PASSWORD.test(password)) {
    return "uses a development password (postgres or cg_<context>_dev): give the service's database role a password of its own";
  }
  return undefined;
}

/** A Redis URL without a password (`redis://:password@host` or `redis://user:password@host` pass). */
export function redisCredentialsProblem(url: string): string | undefined {
  const u = parsed(url);
  if (!u) return 'is not a URL';
  if (u.password === '')
    return 'has no password: Redis must require one (redis://:password@host or redis://user:password@host)';
  return undefined;
}

/** A NATS URL without credentials: a user and password (`nats://user:password@host`) or a token (`nats://token@host`) pass. */
export function natsCredentialsProblem(url: string): string | undefined {
  const u = parsed(url);
  if (!u) return 'is not a URL';
  if (u.username === '')
    return 'has no credentials: NATS must authenticate each service (nats://user:password@host or nats://token@host)';
  return undefined;
}

/** `[::1]` and `::1` name the same host. */
const bare = (host: string) => host.replace(/^\[(.*)\]$/, '$1').toLowerCase();

/**
 * A JWKS URL that is not https. Plain http is accepted only for a host named in `allowedHttpHosts`
 * (a loopback or a private network the operator vouches for): the keys that verify every token
 * must not be open to tampering on the way.
 */
export function jwksUrlProblem(url: string, allowedHttpHosts: readonly string[]): string | undefined {
  const u = parsed(url);
  if (!u) return 'is not a URL';
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:') {
    if (allowedHttpHosts.map(bare).includes(bare(u.hostname))) return undefined;
    return `is plain HTTP: use https, or name its host (${u.hostname}) in JWKS_HTTP_ALLOWED_HOSTS`;
  }
  return `uses ${u.protocol.replace(/:$/, '')}: the keys must be fetched over https`;
}

/** The sandbox payment provider: it approves test cards and takes no money. */
export function sandboxProviderProblem(provider: string): string | undefined {
  if (provider === 'sandbox')
    return 'selects the sandbox provider, which takes no money: choose a real provider (stripe)';
  return undefined;
}

/**
 * `identity.internal, 127.0.0.1, [::1]` → host names, lower-cased; an entry with a scheme, port,
 * path or wildcard fails start-up (the list names hosts, nothing else).
 */
export function parseHostList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      // An IPv6 address may be written bare (::1) or bracketed ([::1]).
      const u = parsed(`http://${entry.includes(':') && !entry.startsWith('[') ? `[${entry}]` : entry}`);
      if (
        !u ||
        entry.includes('*') ||
        u.host !== u.hostname ||
        u.pathname !== '/' ||
        u.search ||
        u.hash ||
        u.username ||
        bare(u.hostname) !== bare(entry)
      ) {
        throw new Error(
          `"${entry}" is not a host name (write identity.internal, 127.0.0.1 or ::1: no scheme, port, path or wildcard)`,
        );
      }
      return bare(u.hostname);
    });
}

/**
 * For demo tooling (seeds): exits 2 with a message, before touching anything, when
 * COURSEGRAPH_MODE is production. Demo data (known passwords, sandbox orders) must never reach a
 * production database.
 */
export function refuseInProduction(what: string, env: NodeJS.ProcessEnv = process.env): void {
  if (env.COURSEGRAPH_MODE !== 'production') return;
  process.stderr.write(
    `${what} refuses to run with COURSEGRAPH_MODE=production: it writes demo data (known passwords, sandbox orders).\n`,
  );
  process.exit(2);
}
