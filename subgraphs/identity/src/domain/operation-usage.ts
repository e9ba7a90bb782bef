/**
 * Usage per client and operation (issue 17 point 4): the gateway's reports (gateway.usage.reported)
 * are added into hourly rows of identity.operation_usage, and admins read sums over hours through
 * `operationUsage`. Reports are checked before anything is written: one that could only come from a
 * broken or hostile publisher (absurd counts, overlong labels, too many rows) is refused whole.
 */
import type { gateway } from '@coursegraph/contracts';
import type { PrismaClient, Tx } from '../data/db.js';

/**
 * The gateway's USAGE_LATENCY_BUCKETS_MS (gateway/src/usage/buckets.ts): upper bounds in ms of the
 * latency buckets, one more bucket beyond the last. test/usage-buckets.test.ts keeps the two equal.
 */
export const LATENCY_BUCKET_BOUNDS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

// Bounds of a report (the gateway sends at most 400 rows, labels of at most 64 and 128 characters).
export const MAX_REPORT_ROWS = 1000;
const MAX_LABEL_CHARS = 64;
const MAX_NAME_CHARS = 128;
/** More requests in one row of one report (a few seconds of one process) than any gateway serves. */
const MAX_ROW_REQUESTS = 1_000_000_000n;
/** No request is counted as taking longer than an hour. */
const MAX_LATENCY_MS_PER_REQUEST = 3_600_000n;
/** Clock skew tolerated between a gateway and identity. */
const MAX_FUTURE_MS = 5 * 60_000;

type UsageReport = gateway.UsageReported;

export class InvalidUsageReportError extends Error {
  override name = 'InvalidUsageReportError';
}

const chars = (s: string) => Array.from(s).length;

/** The report's period start, or InvalidUsageReportError naming the first problem. */
export function checkUsageReport(report: UsageReport, now = Date.now()): Date {
  const fail = (problem: string): never => {
    throw new InvalidUsageReportError(`usage report from ${JSON.stringify(report.reporter.slice(0, 100))}: ${problem}`);
  };
  const start = Date.parse(report.periodStart);
  const end = Date.parse(report.periodEnd);
  if (Number.isNaN(start) || Number.isNaN(end)) fail('period_start and period_end must be RFC 3339 times');
  if (start > end) fail('period_start is after period_end');
  if (end > now + MAX_FUTURE_MS) fail('period_end is in the future');
  if (report.counts.length > MAX_REPORT_ROWS) fail(`${report.counts.length} rows, at most ${MAX_REPORT_ROWS}`);
  const seen = new Set<string>();
  for (const [i, c] of report.counts.entries()) {
    const row = (problem: string) => fail(`row ${i}: ${problem}`);
    if (chars(c.client) > MAX_LABEL_CHARS) row(`client is longer than ${MAX_LABEL_CHARS} characters`);
    if (chars(c.clientVersion) > MAX_LABEL_CHARS) row(`client_version is longer than ${MAX_LABEL_CHARS} characters`);
    if (chars(c.partnerId) > MAX_LABEL_CHARS) row(`partner_id is longer than ${MAX_LABEL_CHARS} characters`);
    if (chars(c.operationName) > MAX_NAME_CHARS) row(`operation_name is longer than ${MAX_NAME_CHARS} characters`);
    if (chars(c.documentId) > MAX_NAME_CHARS) row(`document_id is longer than ${MAX_NAME_CHARS} characters`);
    const key = JSON.stringify([c.client, c.clientVersion, c.partnerId, c.operationName, c.documentId]);
    if (seen.has(key)) row('the same client and operation twice');
    seen.add(key);
    if (c.requests < 1n || c.requests > MAX_ROW_REQUESTS) row(`requests must be 1 to ${MAX_ROW_REQUESTS}`);
    if (c.errors > c.requests) row('more errors than requests');
    if (c.unregistered > c.requests) row('more unregistered than requests');
    if (c.latencyMsTotal > c.requests * MAX_LATENCY_MS_PER_REQUEST) row('latency_ms_total beyond an hour per request');
    if (c.latencyBuckets.length !== LATENCY_BUCKET_BOUNDS_MS.length + 1)
      row(`${c.latencyBuckets.length} latency buckets, expected ${LATENCY_BUCKET_BOUNDS_MS.length + 1}`);
    if (c.latencyBuckets.reduce((a, b) => a + b, 0n) !== c.requests) row('latency buckets do not add up to requests');
  }
  return new Date(start);
}

/**
 * Adds each row of a checked report to its hour (the hour of the period's start), in the caller's
 * transaction. Latency buckets add element by element.
 */
export async function addUsageReport(tx: Tx, report: UsageReport, periodStart: Date): Promise<void> {
  for (const c of report.counts) {
    await tx.$executeRawUnsafe(
      `insert into identity.operation_usage as u
         (hour, client, client_version, partner_id, operation_name, document_id,
          requests, errors, unregistered, latency_ms_total, latency_buckets)
       values (date_trunc('hour', $1::timestamptz), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::bigint[])
       on conflict (hour, client, client_version, partner_id, operation_name, document_id) do update set
         requests = u.requests + excluded.requests,
         errors = u.errors + excluded.errors,
         unregistered = u.unregistered + excluded.unregistered,
         latency_ms_total = u.latency_ms_total + excluded.latency_ms_total,
         latency_buckets = array(
           select coalesce(a, 0) + coalesce(b, 0)
             from unnest(u.latency_buckets, excluded.latency_buckets) with ordinality as t(a, b, i)
            order by i)`,
      periodStart,
      c.client,
      c.clientVersion,
      c.partnerId,
      c.operationName,
      c.documentId,
      c.requests,
      c.errors,
      c.unregistered,
      c.latencyMsTotal,
      c.latencyBuckets,
    );
  }
}

export interface UsageFilter {
  since: Date;
  client?: string | null;
  operationName?: string | null;
  partnerId?: string | null;
}

export interface UsageSummary {
  client: string;
  clientVersion: string;
  partnerId: string | null;
  operationName: string;
  documentId: string | null;
  requests: number;
  errors: number;
  unregistered: number;
  latencyMsAverage: number;
  latencyMsP50: number | null;
  latencyMsP99: number | null;
  firstSeen: Date;
  lastSeen: Date;
}

interface SummaryRow {
  client: string;
  client_version: string;
  partner_id: string;
  operation_name: string;
  document_id: string;
  requests: bigint;
  errors: bigint;
  unregistered: bigint;
  latency_ms_total: bigint;
  latency_buckets: bigint[] | null;
  first_seen: Date;
  last_seen: Date;
}

/**
 * The upper bound of the bucket holding the q-quantile of the summed buckets; null when it lies
 * beyond the last bound (or there is nothing counted).
 */
export function latencyQuantile(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (const [i, n] of buckets.entries()) {
    seen += n;
    if (seen >= rank) return LATENCY_BUCKET_BOUNDS_MS[i] ?? null;
  }
  return null;
}

/** Sums per client and operation over the hours from `since`'s hour on, busiest first. */
export async function summarizeUsage(db: PrismaClient, filter: UsageFilter, first: number): Promise<UsageSummary[]> {
  const rows = await db.$queryRawUnsafe<SummaryRow[]>(
    `with hours as (
       select * from identity.operation_usage
        where hour >= date_trunc('hour', $1::timestamptz)
          and ($2::text is null or client = $2)
          and ($3::text is null or operation_name = $3)
          and ($4::text is null or partner_id = $4)),
     totals as (
       select client, client_version, partner_id, operation_name, document_id,
              sum(requests)::bigint as requests, sum(errors)::bigint as errors,
              sum(unregistered)::bigint as unregistered, sum(latency_ms_total)::bigint as latency_ms_total,
              min(hour) as first_seen, max(hour) as last_seen
         from hours
        group by client, client_version, partner_id, operation_name, document_id
        order by requests desc, client, client_version, partner_id, operation_name, document_id
        limit $5),
     buckets as (
       select client, client_version, partner_id, operation_name, document_id, i, sum(n)::bigint as n
         from hours join totals using (client, client_version, partner_id, operation_name, document_id)
        cross join lateral unnest(hours.latency_buckets) with ordinality as b(n, i)
        group by client, client_version, partner_id, operation_name, document_id, i)
     select t.*,
            (select array_agg(b.n order by b.i) from buckets b
              where (b.client, b.client_version, b.partner_id, b.operation_name, b.document_id)
                  = (t.client, t.client_version, t.partner_id, t.operation_name, t.document_id)) as latency_buckets
       from totals t
      order by t.requests desc, t.client, t.client_version, t.partner_id, t.operation_name, t.document_id`,
    filter.since,
    filter.client ?? null,
    filter.operationName ?? null,
    filter.partnerId ?? null,
    first,
  );
  return rows.map((r) => {
    const buckets = (r.latency_buckets ?? []).map(Number);
    const requests = Number(r.requests);
    return {
      client: r.client,
      clientVersion: r.client_version,
      partnerId: r.partner_id || null,
      operationName: r.operation_name,
      documentId: r.document_id || null,
      requests,
      errors: Number(r.errors),
      unregistered: Number(r.unregistered),
      latencyMsAverage: requests > 0 ? Number(r.latency_ms_total) / requests : 0,
      latencyMsP50: latencyQuantile(buckets, 0.5),
      latencyMsP99: latencyQuantile(buckets, 0.99),
      firstSeen: r.first_seen,
      lastSeen: r.last_seen,
    };
  });
}
