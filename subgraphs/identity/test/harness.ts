/** Identity served in-process (yoga.fetch, no socket) against the real test database and Redis. */
import { createLogger, readConfig } from '@coursegraph/service-kit';
import { AUTH_FIELDS, contextDatabaseUrl, GOOD_PASSWORD, postGraphQL, uniqueEmail } from '@coursegraph/test-support';
import { identitySettings, type IdentityConfig } from '../src/config.js';
import { createIdentityApp, type IdentityApp, type IdentityAppOptions } from '../src/app.js';

export interface IdentityHarness {
  app: IdentityApp;
  config: IdentityConfig;
  gql: <T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ) => ReturnType<typeof postGraphQL<T>>;
  signUp: (tag?: string) => Promise<{ email: string; userId: string; accessToken: string; refreshToken: string }>;
  admin: () => Promise<{ userId: string; accessToken: string }>;
  close: () => Promise<void>;
}

export async function startIdentity(
  overrides: Record<string, string> = {},
  options: IdentityAppOptions = {},
): Promise<IdentityHarness> {
  const config = readConfig(identitySettings, {
    ...process.env,
    IDENTITY_DATABASE_URL: contextDatabaseUrl('identity'),
    ...overrides,
  });
  const app = await createIdentityApp(config, createLogger('identity-test', 'silent'), options);
  const gql: IdentityHarness['gql'] = (query, variables, token) =>
    postGraphQL((url, init) => app.yoga.fetch(url, init), 'http://identity.test/graphql', query, variables, token);

  const signUp = async (tag = 'user') => {
    const email = uniqueEmail(tag);
    const res = await gql(`mutation($input: SignUpInput!) { signUp(input: $input) { ${AUTH_FIELDS} } }`, {
      input: { email, password: GOOD_PASSWORD, name: `Test ${tag}` },
    });
    const payload = res.body.data?.signUp;
    if (!payload) throw new Error(`signUp failed: ${JSON.stringify(res.body.errors)}`);
    return { email, userId: payload.user.id, accessToken: payload.accessToken, refreshToken: payload.refreshToken };
  };

  const admin = async () => {
    const user = await signUp('admin');
    await app.db.user.update({ where: { id: user.userId }, data: { role: 'ADMIN' } });
    const res = await gql(`mutation($input: LogInInput!) { logIn(input: $input) { accessToken } }`, {
      input: { email: user.email, password: GOOD_PASSWORD },
    });
    return { userId: user.userId, accessToken: res.body.data!.logIn.accessToken as string };
  };

  return { app, config, gql, signUp, admin, close: app.close };
}
