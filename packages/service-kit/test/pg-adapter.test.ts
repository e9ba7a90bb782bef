/**
 * pgDriverAdapter, the driver adapter every context's Prisma client is built on: its pg pool is
 * observed by coursegraph_db_pool_connections (docs/metrics.md). Driven through @prisma/adapter-pg's
 * real PrismaPg on the test PostgreSQL, a transaction holding the pool's one connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrismaPg } from '@prisma/adapter-pg';
import { eventually } from '@coursegraph/test-support';
import { nameMetricsService, renderMetrics } from '../src/metrics/registry.js';
import { pgDriverAdapter } from '../src/pg-adapter.js';
import { createScratchContext, type ScratchContext } from '../src/events/testing.js';

const SERVICE = 'pg-adapter-test';
const statement = (sql: string) => ({ sql, args: [], argTypes: [] });

/** `{ total, idle, waiting }` of this process's pools as /metrics shows them; {} when the series are absent. */
async function poolSeries(): Promise<Record<string, number>> {
  const { body } = await renderMetrics();
  const series: Record<string, number> = {};
  for (const [, service, state, value] of body.matchAll(
    /^coursegraph_db_pool_connections\{service="([^"]*)",state="(\w+)"\} (\S+)$/gm,
  ))
    if (service === SERVICE) series[state!] = Number(value);
  return series;
}

let scratch: ScratchContext;

beforeAll(async () => {
  nameMetricsService(SERVICE);
  scratch = await createScratchContext('pool');
});

afterAll(async () => {
  await scratch?.drop();
});

describe('pgDriverAdapter', () => {
  it("reports its pool's open, idle and waiting connections, and stops when the client disconnects", async () => {
    const { adapter: factory } = pgDriverAdapter(PrismaPg, {
      connectionString: scratch.databaseUrl,
      max: 1,
      schema: scratch.context,
    });
    // The pool exists before Prisma connects, with nothing open yet.
    expect(await poolSeries()).toEqual({ total: 0, idle: 0, waiting: 0 });

    const adapter = await factory.connect();
    expect(adapter.getConnectionInfo().schemaName).toBe(scratch.context);
    // A transaction holds the pool's only connection; a second statement waits for it.
    const tx = await adapter.startTransaction();
    expect(await poolSeries()).toEqual({ total: 1, idle: 0, waiting: 0 });
    const queued = adapter.queryRaw(statement('select 1 as one'));
    await eventually('the statement waiting for a connection', async () => (await poolSeries()).waiting === 1);
    expect(await poolSeries()).toEqual({ total: 1, idle: 0, waiting: 1 });

    await tx.executeRaw(statement('COMMIT'));
    await tx.commit(); // gives the connection back to the pool
    expect((await queued).rows).toEqual([[1]]);
    expect(await poolSeries()).toEqual({ total: 1, idle: 1, waiting: 0 });

    // $disconnect disposes the adapter, which ends the pool (as when PrismaPg made its own): its series go.
    await adapter.dispose();
    expect(await poolSeries()).toEqual({});
  });

  it('adds up the pools of one service', async () => {
    const options = { connectionString: scratch.databaseUrl, max: 2, schema: scratch.context };
    const adapters = await Promise.all(
      [pgDriverAdapter(PrismaPg, options), pgDriverAdapter(PrismaPg, options)].map((f) => f.adapter.connect()),
    );
    const held = await Promise.all(adapters.map((a) => a.startTransaction()));
    await adapters[0]!.queryRaw(statement('select 1'));
    // Two connections of the first pool (one in a transaction, one idle after its query), one of the second.
    expect(await poolSeries()).toEqual({ total: 3, idle: 1, waiting: 0 });
    for (const tx of held) {
      await tx.executeRaw(statement('ROLLBACK'));
      await tx.rollback();
    }
    await Promise.all(adapters.map((a) => a.dispose()));
    expect(await poolSeries()).toEqual({});
  });
});
