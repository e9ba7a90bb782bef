/**
 * Identity's hot read in plain SQL (DB_HOT_READS=sql, the kit's sql-reads.ts): users by id, which
 * every instructor name on a catalog page and every dashboard's `me` reads. Returns exactly what
 * the Prisma read beside it in users.ts returns; test/hot-reads.test.ts runs both on the same rows.
 */
import { preparedRead, type SqlReads } from '@coursegraph/service-kit';
import type { User } from '../generated/prisma/client.js';

const BY_ID = preparedRead<User>(
  'identity.users_by_id',
  `select id::text, email, email_key as "emailKey", name, password_hash as "passwordHash", role,
          deactivated_at as "deactivatedAt", email_verified_at as "emailVerifiedAt",
          created_at as "createdAt", updated_at as "updatedAt"
     from identity.users
    where id = any($1::uuid[])`,
);

export const usersById = (sql: SqlReads, ids: readonly string[]) => sql.rows(BY_ID, [ids]);
