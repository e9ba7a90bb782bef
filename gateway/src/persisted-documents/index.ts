/**
 * Persisted documents at the gateway (issue 17): partners' API keys and manifests (partner-access.ts,
 * asking identity), the project's own documents (first-party.ts), APQ in Redis (apq.ts), and the
 * plugins that serve them and hold other callers to GATEWAY_PERSISTED_DOCUMENTS (plugin.ts). The
 * plugins go in this order, after the rate limits and before the federation plugin.
 */
import type { Plugin } from 'graphql-yoga';
import type { Logger, Redis } from '@coursegraph/service-kit';
import type { ClientIpResolver } from '../client-ip.js';
import { RateLimitStore } from '../rate-limit/index.js';
import { APQ_KEY_PREFIX, useRedisApq } from './apq.js';
import { loadFirstPartyManifest } from './first-party.js';
import { createPartnerAccess, type PartnerAccessLookup } from './partner-access.js';
import { useDocumentRequests, useRegisteredDocuments, type PersistedDocumentsMode } from './plugin.js';

export { API_KEY_HEADER, type PersistedDocumentsMode } from './plugin.js';
export { APQ_KEY_PREFIX } from './apq.js';
export { PARTNER_ACCESS_PATH, keyHash, type PartnerAccess, type PartnerDocument } from './partner-access.js';

export interface PersistedDocumentsOptions {
  mode: PersistedDocumentsMode;
  /** The project's own manifest (GATEWAY_PERSISTED_DOCUMENTS_PATH). */
  manifestPath: string;
  /** Identity's HTTP origin, for partner keys. */
  identityUrl: string;
  signingSecret: string;
  /** NATS, for identity.partner.changed. */
  natsUrl: string;
  /** APQ's documents and the partners' buckets. */
  redis: Redis;
  apqTtlSeconds: number;
  getMaxAgeSeconds: number;
  clientIp: ClientIpResolver;
  logger: Logger;
  /** Prefix of every Redis key (APQ and partner limits), for tests. Default: the production keys. */
  keyPrefix?: string;
}

export interface PersistedDocuments {
  plugins: Plugin[];
  partners: PartnerAccessLookup;
  close(): Promise<void>;
}

export async function createPersistedDocuments(options: PersistedDocumentsOptions): Promise<PersistedDocuments> {
  const logger = options.logger.child({ component: 'persisted-documents' });
  const firstParty = loadFirstPartyManifest(options.manifestPath);
  const partners = await createPartnerAccess({
    identityUrl: options.identityUrl,
    signingSecret: options.signingSecret,
    nats: options.natsUrl,
    logger,
  });
  const prefix = options.keyPrefix ?? '';
  logger.info({ mode: options.mode, firstPartyDocuments: firstParty.size }, 'persisted documents');
  return {
    plugins: [
      useDocumentRequests({
        firstParty,
        partners,
        limits: new RateLimitStore(options.redis),
        getMaxAgeSeconds: options.getMaxAgeSeconds,
        logger,
        keyPrefix: `${prefix}gateway:partner-limit:`,
      }),
      useRedisApq({
        redis: options.redis,
        ttlSeconds: options.apqTtlSeconds,
        onlyFirstParty: options.mode === 'enforce',
        firstParty,
        logger,
        keyPrefix: `${prefix}${APQ_KEY_PREFIX}`,
      }),
      useRegisteredDocuments({ mode: options.mode, firstParty, clientIp: options.clientIp, logger }),
    ],
    partners,
    close: () => partners.close(),
  };
}
