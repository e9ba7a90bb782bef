/**
 * The production profile's demo-admin check against the real test database: in production mode
 * identity refuses to start while the demo admin still signs in with the demo password.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, newId, readConfigWithChecks } from '@coursegraph/service-kit';
import { contextDatabaseUrl, freePort, runNode, uniqueEmail } from '@coursegraph/test-support';
import { identitySettings, type IdentityConfig } from '../src/config.js';
import { createDb } from '../src/data/db.js';
import { demoAdminCheck } from '../src/demo-admin-check.js';
import { emailKey } from '../src/domain/email.js';
import { hashPassword } from '../src/domain/password-hash.js';
import { DEMO_ADMIN_EMAIL, DEMO_PASSWORD } from '../src/seed.js';

const databaseUrl = contextDatabaseUrl('identity');
const db = createDb(databaseUrl, 2);
const config = { databaseUrl } as Partial<IdentityConfig>;

afterAll(async () => {
  await db.$disconnect();
});

/** An account with `password`, active, created straight in identity's table (as the seed does). */
async function account(email: string, password: string, role: 'ADMIN' | 'LEARNER' = 'ADMIN') {
  const passwordHash = await hashPassword(password);
  return db.user.upsert({
    where: { emailKey: emailKey(email) },
    create: { id: newId(), email, emailKey: emailKey(email), name: 'Demo Admin', role, passwordHash },
    update: { passwordHash, role, deactivatedAt: null },
  });
}

describe('demoAdminCheck', () => {
  it('is a problem while the account signs in with the demo password, and not once it is deactivated or its password changed', async () => {
    const email = uniqueEmail('demo-admin');
    const check = demoAdminCheck({ email, password: DEMO_PASSWORD });
    expect(await check.run(config)).toBeUndefined(); // no such account

    const user = await account(email, DEMO_PASSWORD);
    expect(await check.run(config)).toBe(
      `the demo admin ${email} still signs in with the demo password: deactivate it (deactivateUser, signed in as another admin) or give it another password before starting in production`,
    );
    // Whatever its role: the demo password lets anyone in.
    await db.user.update({ where: { id: user.id }, data: { role: 'LEARNER' } });
    expect(await check.run(config)).toMatch(/still signs in with the demo password/);

    await db.user.update({ where: { id: user.id }, data: { deactivatedAt: new Date() } });
    expect(await check.run(config)).toBeUndefined();

    await account(email, 'a-password-of-its-own-now');
    expect(await check.run(config)).toBeUndefined();
  });

  it("fails closed: a database it cannot reach is a problem of its own, listed with the settings' problems", async () => {
    const env = {
      COURSEGRAPH_MODE: 'production',
      IDENTITY_DATABASE_URL: 'postgres://cg_identity:x@127.0.0.1:9/coursegraph',
    };
    const err = await readConfigWithChecks(identitySettings, [demoAdminCheck()], env).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems.at(-1)).toMatch(/^the demo admin's credentials \(admin@coursegraph\.dev\) could not be checked: /);
    expect(
      problems
        .slice(0, -1)
        .map((p) => p.split(' ')[0])
        .sort(),
    ).toEqual(['INTERNAL_SIGNING_SECRET', 'NATS_URL', 'REDIS_URL']);
  });
});

describe('identity in production mode (the built process)', () => {
  const start = async () =>
    runNode('subgraphs/identity/dist/main.js', [], {
      ...process.env,
      COURSEGRAPH_MODE: 'production',
      // Without credentials (the test run's URLs carry them): listed with the other problems.
      REDIS_URL: 'redis://127.0.0.1:6379/1',
      NATS_URL: 'nats://127.0.0.1:4223',
      INTERNAL_SIGNING_SECRET: '',
      IDENTITY_PORT: String(await freePort()),
      IDENTITY_DATABASE_URL: databaseUrl,
    });

  it('refuses to start while the demo admin works, listing it with every other problem; without it, the rest remain', async () => {
    const admin = await account(DEMO_ADMIN_EMAIL, DEMO_PASSWORD);
    const refused = await start();
    expect(refused.code).toBe(2);
    const [header, ...lines] = refused.stderr.trim().split('\n');
    expect(header).toBe('invalid configuration:');
    expect(lines.map((l) => l.trim())).toEqual([
      expect.stringMatching(/^REDIS_URL has no password/),
      expect.stringMatching(/^NATS_URL has no credentials/),
      expect.stringMatching(/^INTERNAL_SIGNING_SECRET must be set to a secret of your own/),
      expect.stringMatching(/^IDENTITY_DATABASE_URL uses a development password/),
      `the demo admin ${DEMO_ADMIN_EMAIL} still signs in with the demo password: deactivate it (deactivateUser, signed in as another admin) or give it another password before starting in production`,
    ]);
    expect(refused.stdout).not.toMatch(/listening/);

    // Deactivated (left so: the test database's demo admin must not sign in), it is no longer listed.
    await db.user.update({ where: { id: admin.id }, data: { deactivatedAt: new Date() } });
    const still = await start();
    expect(still.code).toBe(2);
    expect(still.stderr).not.toMatch(/demo admin/);
    expect(still.stderr.trim().split('\n')).toHaveLength(5);
  });
});
