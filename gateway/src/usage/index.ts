/**
 * Usage per client (issue 17 point 4): the yoga plugin that counts each GraphQL request and the
 * reporter that publishes the counts to identity, which keeps them per hour for `operationUsage`.
 */
import type { Logger } from '@coursegraph/service-kit';
import { UsageCounts } from './counts.js';
import { useUsageCounting } from './plugin.js';
import { startUsageReporter } from './reporter.js';

export { USAGE_LATENCY_BUCKETS_MS } from './buckets.js';
export { CLIENT_NAME_HEADER, CLIENT_VERSION_HEADER } from './plugin.js';

/** Distinct (client, version, partner, operation, document) keys a process keeps per report period. */
export const MAX_USAGE_KEYS = 10_000;

export function createUsage(options: { natsUrl: string; reportMs: number; graphqlEndpoint: string; logger: Logger }) {
  const counts = new UsageCounts(MAX_USAGE_KEYS);
  const reporter = startUsageReporter({
    natsUrl: options.natsUrl,
    counts,
    intervalMs: options.reportMs,
    logger: options.logger,
  });
  return { plugin: useUsageCounting(counts, options.graphqlEndpoint), report: reporter.report, close: reporter.close };
}
