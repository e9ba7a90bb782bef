import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { checkMigrations, contextDatabaseUrl, databaseName, postgresAdminUrl } from '@coursegraph/test-support';
import { createDb, type PrismaClient } from '../src/data/db.js';

let db: PrismaClient;
beforeAll(() => {
  db = createDb(contextDatabaseUrl('identity'));
});
afterAll(async () => {
  await db.$disconnect();
});

describe('Prisma over @prisma/adapter-pg', () => {
  // prisma/orm#27403: adapter-pg 6.19 could not read PostgreSQL's `name` type (OID 19), which the
  // schema engine's introspection returns; patches/@prisma+adapter-pg+6.19.3.patch maps it to text.
  it('reads columns of type name (the patched adapter bug)', async () => {
    const rows = await db.$queryRaw<
      { schema: string }[]
    >`select nspname as schema from pg_namespace where nspname = 'identity'`;
    expect(rows).toEqual([{ schema: 'identity' }]);
  });

  it('has every change to schema.prisma captured in a migration', () => {
    expect(() => checkMigrations()).not.toThrow();
  });
});

describe('one PostgreSQL role per context', () => {
  const connect = async (url: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return client;
  };

  it("identity's role cannot read another context's schema, nor create schemas", async () => {
    // Give the course schema a table, as the course role, so there is something to be refused.
    const course = await connect(contextDatabaseUrl('course'));
    await course.query('create table if not exists course.isolation_probe (id int primary key)');
    await course.query('insert into course.isolation_probe values (1) on conflict do nothing');
    expect((await course.query('select count(*)::int as n from course.isolation_probe')).rows[0].n).toBe(1);
    await course.end();

    const identity = await connect(contextDatabaseUrl('identity'));
    try {
      await expect(identity.query('select * from course.isolation_probe')).rejects.toThrow(
        /permission denied for schema course/,
      );
      await expect(identity.query('create schema sneaky')).rejects.toThrow(/permission denied/);
      // Its own tables are reachable, through its own schema on the search path.
      expect((await identity.query('select count(*)::int as n from users')).rows[0].n).toBeGreaterThanOrEqual(0);
    } finally {
      await identity.end();
      // Leave course's schema as its migrations made it.
      const cleanup = await connect(contextDatabaseUrl('course'));
      await cleanup.query('drop table if exists course.isolation_probe');
      await cleanup.end();
    }
  });

  it("the course role cannot read identity's users either", async () => {
    const course = await connect(contextDatabaseUrl('course'));
    try {
      await expect(course.query('select email from identity.users')).rejects.toThrow(
        /permission denied for schema identity/,
      );
    } finally {
      await course.end();
    }
  });

  it('context roles are plain logins, not superusers', async () => {
    const adminUrl = new URL(postgresAdminUrl());
    adminUrl.pathname = `/${databaseName()}`;
    const admin = await connect(adminUrl.toString());
    try {
      const { rows } = await admin.query(
        `select rolname, rolsuper, rolcreatedb, rolcreaterole from pg_roles where rolname like 'cg\\_%' order by rolname`,
      );
      expect(rows.map((r) => r.rolname)).toContain('cg_identity');
      expect(rows.every((r) => !r.rolsuper && !r.rolcreatedb && !r.rolcreaterole)).toBe(true);
    } finally {
      await admin.end();
    }
  });
});
