import type DataLoader from 'dataloader';
import type { SubgraphContext } from '@coursegraph/service-kit';
import type { User } from './generated/prisma/client.js';
import type { PrismaClient } from './data/db.js';
import type { Accounts } from './domain/accounts.js';
import type { EmailVerification } from './domain/email-verification.js';
import type { Partners } from './domain/partners.js';
import type { SigningKeyStore } from './domain/signing-keys.js';

/** What every identity resolver receives: the kit's shared fields (viewer, requestId, logger, traceparent) and identity's own. */
export interface Context extends SubgraphContext, Record<string, unknown> {
  db: PrismaClient;
  accounts: Accounts;
  emailVerification: EmailVerification;
  keys: SigningKeyStore;
  partners: Partners;
  loaders: { user: DataLoader<string, User | null> };
  /** The caller's address as the gateway signed it (x-client-ip), or null for a direct caller. */
  clientIp: string | null;
  /** Set by signUp, logIn and refreshSession: the caller has just proven to be this user. */
  signedInUserId: string | null;
}
