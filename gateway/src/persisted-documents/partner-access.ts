/**
 * Which partner an API key belongs to, and which documents it may run: asked of identity (which
 * holds the keys, hashed) at its signed internal route, and remembered in this process for a
 * while. An answer is kept ttlMs (a live key) or negativeTtlMs (an unknown or revoked key); when
 * identity does not answer, an expired answer is still used rather than refusing every partner,
 * and without one the request gets a 503. `identity.partner.changed` (a key issued or revoked, a
 * manifest registered) drops that partner's answers at once, and every "unknown key" answer, since
 * a key just issued may have been looked up before it existed. Like the response cache's feed, it
 * is a plain NATS subscription: a gateway that was not running has nothing to correct.
 */
import { createHash } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { IdentityEvents } from '@coursegraph/contracts';
import {
  ErrorCode,
  connectNats,
  parseEvent,
  signInternalRequest,
  type EventPayload,
  type EventType,
  type Logger,
} from '@coursegraph/service-kit';

/** A document a partner registered, as identity stored it. */
export interface PartnerDocument {
  operationName: string;
  operationType: 'query' | 'mutation';
  document: string;
  cost: number;
}

/** Identity's answer for a live key. */
export interface PartnerAccess {
  partner: { id: string; name: string; rateLimitPerMinute: number; costBudgetPerMinute: number };
  keyId: string;
  documents: Record<string, PartnerDocument>;
}

/** The event that drops a partner's cached answers (the docs' event catalogue reads it from here). */
export const PARTNER_ACCESS_INVALIDATION: EventType = IdentityEvents.partnerChanged;

/** Identity's internal route; the key's sha256 (hex) follows. */
export const PARTNER_ACCESS_PATH = '/internal/partner-access/';

/** `cgp_` and 32 random bytes in base64url: anything else is no key of ours, and identity is not asked. */
const KEY_FORMAT = /^cgp_[A-Za-z0-9_-]{43}$/;

/** Longest wait for identity's answer: a partner request waits on it. */
const LOOKUP_TIMEOUT_MS = 2_000;

/** Answers kept per process; the oldest go first (random keys must not grow the map without bound). */
const MAX_ENTRIES = 10_000;

export interface PartnerAccessOptions {
  /** Identity's HTTP origin (IDENTITY_URL). */
  identityUrl: string;
  /** INTERNAL_SIGNING_SECRET: identity answers only signed requests. */
  signingSecret: string;
  /** NATS for identity.partner.changed: a connection to share, or a URL to connect to. */
  nats: NatsConnection | string;
  logger: Logger;
  /** How long a live key's answer is used without asking again. Default 60 s. */
  ttlMs?: number;
  /** How long an unknown key's answer is used. Default 5 s. */
  negativeTtlMs?: number;
}

interface Entry {
  access: PartnerAccess | null;
  expiresAt: number;
}

/** The key's partner, or null for an unknown or revoked key; throws partnerAccessUnavailable(). */
export interface PartnerAccessLookup {
  byKey(key: string): Promise<PartnerAccess | null>;
  /** Forgets every answer (tests; a feed that could not be read). */
  clear(): void;
  close(): Promise<void>;
}

/** The refusal when identity cannot be asked and no earlier answer is at hand. */
export const partnerAccessUnavailable = () =>
  new GraphQLError('Partner keys cannot be checked right now (identity does not answer); try again shortly.', {
    extensions: {
      code: ErrorCode.SUBGRAPH_UNAVAILABLE,
      subgraph: 'identity',
      http: { status: 503, headers: { 'retry-after': '5' } },
    },
  });

export const keyHash = (key: string) => createHash('sha256').update(key).digest('hex');

export async function createPartnerAccess(options: PartnerAccessOptions): Promise<PartnerAccessLookup> {
  const ttlMs = options.ttlMs ?? 60_000;
  const negativeTtlMs = options.negativeTtlMs ?? 5_000;
  const logger = options.logger.child({ component: 'partner-access' });
  const entries = new Map<string, Entry>();
  // Concurrent requests with one key share one question to identity.
  const asking = new Map<string, Promise<PartnerAccess | null>>();

  const remember = (hash: string, access: PartnerAccess | null) => {
    entries.delete(hash);
    entries.set(hash, { access, expiresAt: Date.now() + (access ? ttlMs : negativeTtlMs) });
    if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
  };

  const ask = async (hash: string): Promise<PartnerAccess | null> => {
    const path = `${PARTNER_ACCESS_PATH}${hash}`;
    const res = await fetch(new URL(path, options.identityUrl), {
      headers: signInternalRequest(options.signingSecret, path),
      signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS),
    });
    if (res.status === 404) return null;
    if (res.status !== 200) throw new Error(`identity answered ${res.status}`);
    return (await res.json()) as PartnerAccess;
  };

  const lookUp = (hash: string): Promise<PartnerAccess | null> => {
    let pending = asking.get(hash);
    if (!pending) {
      pending = ask(hash)
        .then((access) => (remember(hash, access), access))
        .finally(() => asking.delete(hash));
      asking.set(hash, pending);
    }
    return pending;
  };

  const dropPartner = (partnerId: string) => {
    for (const [hash, entry] of entries)
      if (!entry.access || entry.access.partner.id === partnerId) entries.delete(hash);
  };

  const nc =
    typeof options.nats === 'string'
      ? await connectNats(options.nats, { name: 'gateway-partner-access', logger })
      : options.nats;
  const subscription: Subscription = nc.subscribe(PARTNER_ACCESS_INVALIDATION.subject, {
    callback: (err, msg) => {
      if (err) {
        logger.warn({ err: err.message }, 'partner changes feed failed; answers age out with their time to live');
        return;
      }
      try {
        const { payload } = parseEvent(
          { subject: msg.subject, headers: msg.headers, data: msg.data, streamSequence: 0, deliveryCount: 1 },
          IdentityEvents.partnerChanged,
        );
        // parseEvent decoded it with this very event's schema.
        const change = payload as EventPayload<typeof IdentityEvents.partnerChanged>;
        dropPartner(change.partnerId);
        logger.debug({ partnerId: change.partnerId, change: change.change }, 'partner answers dropped');
      } catch (parseError) {
        // A change we cannot read could be any partner's.
        entries.clear();
        logger.warn({ err: (parseError as Error).message }, 'unreadable partner change; every answer dropped');
      }
    },
  });
  await nc.flush();
  // Changes published while the connection was down were missed: ask identity again.
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'reconnect') for (const entry of entries.values()) entry.expiresAt = 0;
    }
  })();

  return {
    async byKey(key) {
      if (!KEY_FORMAT.test(key)) return null;
      const hash = keyHash(key);
      const known = entries.get(hash);
      if (known && known.expiresAt > Date.now()) return known.access;
      try {
        return await lookUp(hash);
      } catch (err) {
        if (known) {
          logger.warn({ err: (err as Error).message }, 'identity does not answer; using an expired partner answer');
          return known.access;
        }
        logger.warn({ err: (err as Error).message }, 'identity does not answer; partner request refused');
        throw partnerAccessUnavailable();
      }
    },
    clear: () => entries.clear(),
    async close() {
      subscription.unsubscribe();
      if (typeof options.nats === 'string') await nc.drain().catch(() => undefined);
    },
  };
}
