/**
 * Exposure counts from the services' `flags.exposure.reported`, added per flag, variant and UTC day.
 * A report that fails its checks throws: the kit retries it, then dead-letters it, and nothing of it
 * is written. Counts of flags that do not (or no longer) exist are kept: they say what was served.
 */
import { badInput, type EventPayload } from '@coursegraph/service-kit';
import type { FlagsEvents } from '@coursegraph/contracts';
import type { PrismaClient, Tx } from '../data/db.js';
import { KEY } from './validation.js';

/** The kit's flags client sends at most 500 counts per report. */
export const MAX_COUNTS_PER_REPORT = 500;
/** Far above what one process evaluates between two reports; more is a broken or hostile reporter. */
const MAX_COUNT = 1_000_000_000_000n;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

export interface ExposureRow {
  flagKey: string;
  variant: string;
  day: string;
  count: bigint;
}

export function checkExposureReport(report: EventPayload<typeof FlagsEvents.exposureReported>): ExposureRow[] {
  if (report.counts.length > MAX_COUNTS_PER_REPORT)
    throw new Error(`an exposure report has at most ${MAX_COUNTS_PER_REPORT} counts, got ${report.counts.length}`);
  return report.counts.map((c, i) => {
    if (!KEY.test(c.flagKey) || !KEY.test(c.variant)) throw new Error(`count ${i}: flag key or variant malformed`);
    if (!DAY.test(c.day) || Number.isNaN(Date.parse(`${c.day}T00:00:00Z`)))
      throw new Error(`count ${i}: day must be YYYY-MM-DD`);
    if (c.count > MAX_COUNT) throw new Error(`count ${i}: ${c.count} is too many`);
    return { flagKey: c.flagKey, variant: c.variant, day: c.day, count: c.count };
  });
}

export async function addExposures(tx: Tx, rows: ExposureRow[]): Promise<void> {
  for (const r of rows) {
    await tx.$executeRaw`
      insert into flags.flag_exposures (flag_key, variant, day, count)
      values (${r.flagKey}, ${r.variant}, ${r.day}::date, ${r.count})
      on conflict (flag_key, day, variant) do update set count = flag_exposures.count + excluded.count`;
  }
}

export interface ExposureView {
  flagKey: string;
  variant: string;
  day: string;
  count: number;
}

/** A flag's counts over the last `days` days (today included), newest day first. */
export async function exposuresOf(db: PrismaClient, key: string, days: number, now: Date): Promise<ExposureView[]> {
  if (!Number.isInteger(days) || days < 1 || days > 366) throw badInput('days must be 1..366.', 'days');
  if (!KEY.test(key)) return [];
  const since = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - (days - 1)));
  const rows = await db.flagExposure.findMany({
    where: { flagKey: key, day: { gte: since } },
    orderBy: [{ day: 'desc' }, { variant: 'asc' }],
  });
  return rows.map((r) => ({
    flagKey: r.flagKey,
    variant: r.variant,
    day: r.day.toISOString().slice(0, 10),
    count: Number(r.count),
  }));
}
