/**
 * A context's hot reads in plain SQL (issue 18): the few statements every catalog page or dashboard
 * runs, sent as named prepared statements on the context's own pg pool (pgDriverAdapter's), so they
 * skip Prisma's per-statement work (its query compiler and result mapping) and PostgreSQL keeps each
 * one's plan per connection. Everything else stays on Prisma. DB_HOT_READS=prisma turns them off.
 *
 *     const COUNTS = preparedRead<{ courseId: string; n: number }>('enrollment.counts', `select ...`);
 *     const rows = await sql.rows(COUNTS, [courseIds]);
 *
 * The text is fixed: values only ever travel as parameters ($1, $2 …), so one name is one statement.
 * Columns are aliased to the Prisma field names, so rows read like Prisma's.
 */
import type pg from 'pg';
import { parse, type ConfigSpec } from './config.js';
import { inStatementSpan } from './tracing/sql.js';
import { tracingEnabled } from './tracing/sdk.js';

export type HotReadsMode = 'sql' | 'prisma';

/** The switch, in the config spec of each context that has hot reads. */
export const hotReadsSetting = {
  hotReads: {
    env: 'DB_HOT_READS',
    default: 'sql' as HotReadsMode,
    parse: parse.oneOf<HotReadsMode>('sql', 'prisma'),
    doc: 'how the hottest reads (catalog pages, course and user loaders, dashboards) reach PostgreSQL: sql (named prepared statements on the pool) or prisma (through the Prisma client, as every other statement)',
  },
} satisfies ConfigSpec;

/** A read's statement: its name (unique in the process) and fixed text. `Row` is what one row holds. */
export interface PreparedRead<Row> {
  readonly name: string;
  readonly text: string;
  /** Never set: carries the row type. */
  readonly row?: Row;
}

export function preparedRead<Row>(name: string, text: string): PreparedRead<Row> {
  return { name, text };
}

export class SqlReads {
  /**
   * @param schema the context's PostgreSQL schema (the spans' db.namespace)
   * @param onQuery sees every statement's text, as a Prisma client's query log would (tests count them)
   */
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly onQuery?: (sql: string) => void,
  ) {}

  /** The rows of `read` for these values. */
  async rows<Row>(read: PreparedRead<Row>, values: unknown[]): Promise<Row[]> {
    this.onQuery?.(read.text);
    const run = async () => (await this.pool.query<Row & pg.QueryResultRow>({ ...read, values })).rows;
    return tracingEnabled() ? inStatementSpan(this.schema, read.text, run) : run();
  }
}
