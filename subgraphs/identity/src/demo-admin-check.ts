/**
 * The production profile's check that needs identity's database: the demo admin `npm start` seeds
 * (admin@coursegraph.dev with the printed demo password) must not sign in on a production
 * deployment. Run by main.ts at start-up, after the settings are read and before listening.
 */
import type { ProductionCheck } from '@coursegraph/service-kit';
import type { IdentityConfig } from './config.js';
import { createDb } from './data/db.js';
import { findUserByEmailKey } from './data/users.js';
import { emailKey } from './domain/email.js';
import { PasswordHasher } from './domain/password-hash.js';
import { DEMO_ADMIN_EMAIL, DEMO_PASSWORD } from './seed.js';

export interface DemoAdminCheckOptions {
  /** The account to try. Default the demo admin, admin@coursegraph.dev (tests use accounts of their own). */
  email?: string;
  /** The password to try. Default the demo password every demo account shares. */
  password?: string;
}

/**
 * A problem when the account exists, is not deactivated and its password is the demo one, checked
 * with identity's own argon2 verification, as logIn would. A deactivated account cannot sign in
 * (logIn refuses it), so it passes.
 */
export function demoAdminCheck(options: DemoAdminCheckOptions = {}): ProductionCheck<IdentityConfig> {
  const email = options.email ?? DEMO_ADMIN_EMAIL;
  const password = options.password ?? DEMO_PASSWORD;
  return {
    what: `the demo admin's credentials (${email})`,
    async run(config) {
      if (!config.databaseUrl) throw new Error('IDENTITY_DATABASE_URL is not usable');
      const db = createDb(config.databaseUrl, 1);
      try {
        const user = await findUserByEmailKey(db, emailKey(email));
        if (!user || user.deactivatedAt) return undefined;
        if (!(await new PasswordHasher({ concurrency: 1 }).verify(user.passwordHash, password))) return undefined;
        return `the demo admin ${email} still signs in with the demo password: deactivate it (deactivateUser, signed in as another admin) or give it another password before starting in production`;
      } finally {
        await db.$disconnect();
      }
    },
  };
}
