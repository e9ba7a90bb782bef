/**
 * SqlReads, the hot reads' plain SQL: named prepared statements on a context's pool, values only as
 * parameters, every statement shown to onQuery. On the test PostgreSQL, in a scratch schema.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { eventually, SPAN_KIND, startOtlpReceiver, type OtlpReceiver } from '@coursegraph/test-support';
import { createLogger, preparedRead, readConfig, SqlReads, hotReadsSetting } from '../src/index.js';
import { createScratchContext, type ScratchContext } from '../src/events/testing.js';
import { startTracing, stopTracing, tracingReady } from '../src/tracing/sdk.js';

let scratch: ScratchContext;
let pool: pg.Pool;
const seen: string[] = [];
let reads: SqlReads;
let receiver: OtlpReceiver;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  startTracing('sql-reads-test', createLogger('sql-reads-test', 'silent'), {
    tracing: true,
    otlpEndpoint: receiver.url,
    tracingSampleRatio: 1,
    tracingExportDelayMs: 100,
  });
  await tracingReady();
  scratch = await createScratchContext(
    'sqlreads',
    `create table $schema.items (id int primary key, label text, at timestamptz);
    insert into $schema.items values (1, 'one', '2026-01-02T03:04:05.678Z'), (2, null, null), (3, 'three', now())`,
  );
  // One connection, so the statement prepared by the first read is the one the second finds.
  pool = new pg.Pool({ connectionString: scratch.databaseUrl, max: 1 });
  reads = new SqlReads(pool, scratch.context, (sql) => seen.push(sql));
});

afterAll(async () => {
  await stopTracing();
  await receiver?.close();
  await pool?.end();
  await scratch?.drop();
});

describe('SqlReads', () => {
  const ITEMS = () =>
    preparedRead<{ id: number; label: string | null; at: Date | null }>(
      'test.items_by_id',
      `select id, label, at from "${scratch.context}".items where id = any($1::int[]) order by id`,
    );

  it('reads typed rows through one named statement, prepared once per connection', async () => {
    const read = ITEMS();
    expect(await reads.rows(read, [[1, 2]])).toStrictEqual([
      { id: 1, label: 'one', at: new Date('2026-01-02T03:04:05.678Z') },
      { id: 2, label: null, at: null },
    ]);
    expect(await reads.rows(read, [[]])).toStrictEqual([]);
    expect((await reads.rows(read, [[3, 99]])).map((r) => r.id)).toStrictEqual([3]);
    const prepared = await pool.query<{ name: string }>('select name from pg_prepared_statements');
    expect(prepared.rows.map((r) => r.name)).toStrictEqual(['test.items_by_id']);
    expect(seen.filter((s) => s === read.text)).toHaveLength(3);
  });

  it("traces each read as Prisma's statements are: a client span named by kind and table, no text or values", async () => {
    await reads.rows(ITEMS(), [[1]]);
    const span = await eventually("the read's span", async () =>
      receiver.spans.find((s) => s.service === 'sql-reads-test' && s.name === 'SELECT items'),
    );
    expect(span.kind).toBe(SPAN_KIND.CLIENT);
    expect(span.attributes).toStrictEqual({
      'db.system.name': 'postgresql',
      'db.namespace': scratch.context,
      'db.operation.name': 'SELECT',
      'db.collection.name': 'items',
    });
  });

  it('sends values only as parameters: a hostile one is a value, not SQL', async () => {
    const BY_LABEL = preparedRead<{ id: number }>(
      'test.items_by_label',
      `select id from "${scratch.context}".items where label = $1`,
    );
    expect(await reads.rows(BY_LABEL, ["one' or '1'='1"])).toStrictEqual([]);
    expect(await reads.rows(BY_LABEL, ['one'])).toStrictEqual([{ id: 1 }]);
  });

  it('is switched by DB_HOT_READS, sql by default, refusing anything else', () => {
    expect(readConfig(hotReadsSetting, {}).hotReads).toBe('sql');
    expect(readConfig(hotReadsSetting, { DB_HOT_READS: 'prisma' }).hotReads).toBe('prisma');
    expect(() => readConfig(hotReadsSetting, { DB_HOT_READS: 'fast' })).toThrow(
      /DB_HOT_READS.*expected one of sql, prisma/,
    );
  });
});
