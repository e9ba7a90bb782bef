/**
 * A span per SQL statement a context's Prisma client sends, made around its pg driver adapter:
 *
 *     new PrismaClient({ adapter: tracedSqlAdapter(new PrismaPg(pool, { schema: 'payment' }), 'payment') })
 *
 * A span names the statement's kind and table (`INSERT outbox_events`), never its text or values:
 * raw statements may carry literals, and a trace backend is no place for a learner's data. The
 * adapter is wrapped when Prisma first connects, and only when tracing is on: off, every call goes
 * straight to the adapter.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { tracer, tracingEnabled } from './sdk.js';

/** What the wrapper needs of Prisma's driver adapter interfaces (@prisma/driver-adapter-utils). */
interface Queryable {
  queryRaw(query: { sql: string }): Promise<unknown>;
  executeRaw(query: { sql: string }): Promise<number>;
}
interface Adapter extends Queryable {
  startTransaction(...args: never[]): Promise<Queryable>;
}
export interface AdapterFactory {
  connect(): Promise<Adapter>;
}

const OPERATION = /^\s*([a-z]+)/i;
const LITERAL = /'(?:[^']|'')*'/g;
// The first table a statement reads or writes, schema-qualified or not, quoted or not.
const TABLE = /\b(?:from|into|update|join)\s+(?:(?:"[^"]+"|[a-z_][\w$]*)\s*\.\s*)?("[^"]+"|[a-z_][\w$]*)/i;

/** `SELECT`, `orders`: the statement's kind and first table (no literal can reach either). */
export function describeStatement(sql: string): { operation: string; table: string | undefined } {
  const operation = (OPERATION.exec(sql)?.[1] ?? 'SQL').toUpperCase().slice(0, 16);
  // String literals out first, so that `'... from x'` never names a table.
  const table = TABLE.exec(sql.replace(LITERAL, "''"))?.[1]?.replaceAll('"', '').slice(0, 63);
  return { operation, table };
}

/** A driver adapter error's SQLSTATE or kind (`23505`, `ConnectionClosed`), else the error's class. */
function errorType(err: unknown): string {
  const cause = (err as { cause?: { originalCode?: unknown; kind?: unknown } }).cause;
  const type = cause?.originalCode ?? cause?.kind ?? (err as Error).name;
  return typeof type === 'string' ? type.slice(0, 64) : 'Error';
}

/** Runs one statement in its span (also the kit's plain-SQL reads', sql-reads.ts). */
export function inStatementSpan<T>(schema: string, sql: string, run: () => Promise<T>): Promise<T> {
  const { operation, table } = describeStatement(sql);
  return tracer().startActiveSpan(
    table ? `${operation} ${table}` : operation,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'db.system.name': 'postgresql',
        'db.namespace': schema,
        'db.operation.name': operation,
        ...(table ? { 'db.collection.name': table } : {}),
      },
    },
    async (span) => {
      try {
        return await run();
      } catch (err) {
        // The kind of failure only: a driver's message may quote the value it refused.
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.setAttribute('error.type', errorType(err));
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

/** `target` with its statements in spans; everything else (names, dispose, commit) passes through. */
function traced<Q extends Queryable>(target: Q, schema: string): Q {
  return new Proxy(target, {
    get(obj, prop) {
      if (prop === 'queryRaw' || prop === 'executeRaw')
        return (query: { sql: string }) => inStatementSpan(schema, query.sql, () => obj[prop](query));
      if (prop === 'startTransaction')
        return (...args: never[]) =>
          // The adapter sends BEGIN itself, on the connection it takes from the pool.
          inStatementSpan(schema, 'BEGIN', () => (obj as unknown as Adapter).startTransaction(...args)).then((tx) =>
            traced(tx, schema),
          );
      const value: unknown = Reflect.get(obj, prop, obj);
      return typeof value === 'function' ? value.bind(obj) : value;
    },
  });
}

/** The adapter factory whose connections trace their statements (when tracing is on at connect time). */
export function tracedSqlAdapter<F extends AdapterFactory>(factory: F, schema: string): F {
  return new Proxy(factory, {
    get(obj, prop) {
      if (prop === 'connect')
        return async () => {
          const adapter = await obj.connect();
          return tracingEnabled() ? traced(adapter, schema) : adapter;
        };
      const value: unknown = Reflect.get(obj, prop, obj);
      return typeof value === 'function' ? value.bind(obj) : value;
    },
  });
}
